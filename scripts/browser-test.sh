#!/usr/bin/env bash
# The dashboard page and the sales console in headless Chromium: builds `aurum`, starts
# `aurum serve` three times on free loopback ports and fresh data directories (one filled
# by `aurum simulate --days 21`, one left empty, one for the console), runs
# tests/browser/dashboard.test.mjs and console.test.mjs against them and leaves the
# screenshots in $AURUM_BROWSER_OUT (default target/browser). Installs what it needs on a
# fresh Debian machine (chromium, Node.js, the pinned playwright-core); stops by itself.
#
#   scripts/browser-test.sh            # whole run
#   AURUM_BROWSER_DAYS=3 scripts/browser-test.sh   # a shorter simulation
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${AURUM_BROWSER_OUT:-$ROOT/target/browser}
# Three weeks: the forecast then has history enough to be backtested.
DAYS=${AURUM_BROWSER_DAYS:-21}
SEED=${AURUM_BROWSER_SEED:-7}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x /usr/bin/chromium ]; then
  echo "browser-test: installing chromium"
  apt_install chromium
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "browser-test: installing Node.js"
  apt_install nodejs npm
fi
(cd tests/browser && npm ci --no-audit --no-fund --silent)

echo "browser-test: building aurum"
cargo build --quiet --bin aurum
# A private copy: a shared target directory may be rebuilt by another checkout meanwhile.
cp "${CARGO_TARGET_DIR:-$ROOT/target}/debug/aurum" "$OUT/aurum"
AURUM="$OUT/aurum"

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

start_server() { # name → prints the base URL
  local name=$1 port
  port=$(free_port)
  mkdir -p "$WORK/$name"
  AURUM_BACKEND=embedded RUST_LOG=warn "$AURUM" serve --addr "127.0.0.1:$port" --data-dir "$WORK/$name" \
    >"$OUT/serve-$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    if node -e "fetch('http://127.0.0.1:$port/openapi.json').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
      URL="http://127.0.0.1:$port"
      return 0
    fi
    sleep 0.2
  done
  echo "browser-test: aurum serve ($name) did not start; see $OUT/serve-$name.log" >&2
  exit 1
}

start_server filled
FILLED=$URL
start_server empty
EMPTY=$URL
start_server console
CONSOLE=$URL

echo "browser-test: simulating $DAYS days on $FILLED"
timeout 600 "$AURUM" simulate --days "$DAYS" --seed "$SEED" --url "$FILLED" | tee "$OUT/simulate.txt"

echo "browser-test: the page in headless Chromium"
AURUM_URL=$FILLED AURUM_EMPTY_URL=$EMPTY AURUM_BROWSER_OUT=$OUT AURUM_BROWSER_DAYS=$DAYS \
  timeout 300 node --test --test-reporter=spec tests/browser/dashboard.test.mjs
echo "browser-test: the sales console in headless Chromium"
AURUM_CONSOLE_URL=$CONSOLE AURUM_BROWSER_OUT=$OUT \
  timeout 300 node --test --test-reporter=spec tests/browser/console.test.mjs
echo "browser-test: screenshots in $OUT"
