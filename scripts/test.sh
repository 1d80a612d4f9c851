#!/usr/bin/env bash
# Installs and starts what the tests need, then runs every check and test.
# Usage: scripts/test.sh   (from anywhere; a fresh machine needs only rustup, Python and apt)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# The pinned toolchain (rust-toolchain.toml) brings rustfmt and clippy with it.
rustup show active-toolchain >/dev/null

# Local runs and tests never reach AWS: dummy credentials, no instance metadata.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true

log "local servers (Redis, moto)"
services=$(scripts/services.sh start) || { echo "could not start the local servers" >&2; exit 1; }
eval "$services"
trap 'scripts/services.sh stop' EXIT

log "format"
cargo fmt --all -- --check

log "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "supply chain (cargo deny: licences, bans, sources; advisories when the database can be had)"
scripts/supply-chain.sh

log "tests"
cargo test --workspace --all-targets --locked

log "fuzz: the feedback endpoint's verifier and parser over arbitrary input (about a minute)"
PROPTEST_CASES=${FEEDBACK_FUZZ_CASES:-20000} cargo test --locked -p aurum-feedback --test robustness

log "API contract (schemathesis against aurum serve)"
scripts/schemathesis.sh

log "dashboard page in headless Chromium (aurum serve, aurum simulate, Playwright)"
scripts/browser-test.sh

log "infrastructure (cfn-lint, checkov, sam validate, arm64 build, sam build)"
scripts/check-infra.sh

log "all checks passed"
