#!/usr/bin/env bash
# Usage: scripts/venv.sh NAME PACKAGE...  -> prints the bin/ directory of a virtualenv
# holding exactly those pinned packages. Each tool gets its own virtualenv (their pins
# clash), kept under ~/.cache/aurum/venvs and rebuilt when the package list changes.
set -euo pipefail
name=$1; shift
root="${AURUM_CACHE_DIR:-$HOME/.cache/aurum}/venvs"
venv="$root/$name"
stamp="$venv/.packages"
wanted="$*"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  rm -rf "$venv"
  mkdir -p "$root"
  if ! python3 -m venv "$venv" >&2; then
    # Debian/Ubuntu ship the venv module separately.
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    ($sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv) >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
  printf '%s' "$wanted" > "$stamp"
fi
printf '%s\n' "$venv/bin"
