#!/usr/bin/env bash
# Supply-chain checks of the dependency tree with cargo-deny, by the policy in deny.toml:
#   licences (only those allowed there), bans (no OpenSSL, native-tls or aws-lc; one copy of
#   rustls and ring), sources (crates.io only), and the RustSec advisories when the advisory
#   database can be had (see below; otherwise that part is skipped and says so).
# Installs the pinned cargo-deny first when it is missing (one build, a few minutes).
# Usage: scripts/supply-chain.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: a new check in cargo-deny should arrive as a reviewed change, not break CI.
# 0.20.2 is the newest release; its MSRV (1.88) fits rust-toolchain.toml. It has no cargo
# features to trim: it fetches the advisory database with the git CLI and links no
# HTTP or TLS stack of its own.
cargo_deny_version=0.20.2
if [ "$(cargo deny --version 2>/dev/null || true)" != "cargo-deny $cargo_deny_version" ]; then
  echo "installing cargo-deny $cargo_deny_version (built once per machine)"
  # Its own target directory, so it never disturbs the workspace's builds. The crate's
  # release profile (fat LTO, one codegen unit) is traded for a quicker build.
  CARGO_TARGET_DIR="$HOME/.cache/aurum-deny-build" \
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-deny --version "$cargo_deny_version" --locked --force
fi

echo "cargo deny check licenses bans sources"
if ! cargo deny --locked check --hide-inclusion-graph licenses bans sources; then
  echo "cargo deny failed; the same check with the inclusion graph of each crate it names:" >&2
  cargo deny --locked check licenses bans sources >&2 || true
  exit 1
fi

# RustSec advisories. cargo-deny clones the database with git into $CARGO_HOME/advisory-dbs.
# Where its host is out of reach (machines that reach package registries only), a copy
# already in place is used offline (cargo deny fails it when older than 90 days: refresh it);
# with neither, the advisories are not checked, and this says so without failing.
advisory_db_url=https://github.com/RustSec/advisory-db
# cargo-deny's directory for the default database URL.
advisory_db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-3157b0e258782691"
if timeout 30 git ls-remote --exit-code "$advisory_db_url" HEAD >/dev/null 2>&1; then
  echo "cargo deny check advisories (database fetched from $advisory_db_url)"
  cargo deny --locked check advisories
elif [ -d "$advisory_db/.git" ] && [ -d "$advisory_db/crates" ]; then
  echo "cargo deny check advisories (database not reachable; the local copy in $advisory_db)"
  cargo deny --locked --offline check advisories
else
  echo "SKIPPED: cargo deny check advisories: the RustSec advisory database ($advisory_db_url)"
  echo "  is not reachable from this machine, and there is no local copy in $advisory_db"
  echo "  (a git clone of it placed there is checked offline). Licences, bans and sources were checked."
fi
