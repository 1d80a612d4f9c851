#!/usr/bin/env bash
# Checks the SAM template and the Lambda build, offline (package registries only):
#   cfn-lint, checkov (every skip is justified next to it in the template),
#   sam validate --lint, cargo lambda build --release --arm64 (zip sizes, each < 6 MiB),
#   and sam build, which reuses that build.
# Usage: scripts/check-infra.sh [--no-build]   (--no-build: template checks only)
set -euo pipefail
cd "$(dirname "$0")/.."

build=true
[ "${1:-}" = "--no-build" ] && build=false

log() { printf '\n== %s\n' "$*"; }

# Pinned: a new rule in a linter should arrive as a reviewed change, not break CI.
cfn_lint=$(scripts/venv.sh cfn-lint cfn-lint==1.58.0)
checkov=$(scripts/venv.sh checkov checkov==3.3.30)
sam=$(scripts/venv.sh aws-sam-cli aws-sam-cli==1.170.0)
# cargo-lambda's wheel brings zig, the cross-linker for aarch64.
cargo_lambda=$(scripts/venv.sh cargo-lambda cargo-lambda==1.9.2)
export PATH="$cargo_lambda:$PATH"

# Nothing here may reach AWS: dummy credentials, no instance metadata, no telemetry.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_SESSION_TOKEN=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0
# The release arm64 build has its own target directory: it never invalidates the debug one.
export CARGO_TARGET_DIR="${AURUM_LAMBDA_TARGET_DIR:-$HOME/.cache/aurum-target-arm64}"

log "cfn-lint"
"$cfn_lint/cfn-lint" infra/template.yaml

log "checkov"
"$checkov/checkov" --file infra/template.yaml --framework cloudformation \
  --skip-download --compact --quiet

log "sam validate --lint"
(cd infra && "$sam/sam" validate --lint --template-file template.yaml)

if ! $build; then
  log "infra checks passed (build skipped)"
  exit 0
fi

log "cargo lambda build --release --arm64 (every function, one build)"
rustup target add aarch64-unknown-linux-gnu >/dev/null
# 6 MiB since 2026-12-08 (5 MiB before): every function now reads the cache's credentials
# from Secrets Manager over HTTPS at start-up, and the chat carries its knowledge base.
limit=$((6 * 1024 * 1024))
# One cargo invocation for every function crate: the dependency tree is compiled once, the
# binaries linked side by side. sam build then finds each one built and reuses it.
packages=()
for dir in functions/*/; do
  packages+=(--package "$(cd "$dir" && cargo metadata --no-deps --format-version 1 | python3 -c '
import json, os, sys
manifest = os.path.realpath("Cargo.toml")
print(next(p["name"] for p in json.load(sys.stdin)["packages"] if os.path.realpath(p["manifest_path"]) == manifest))')")
done
cargo lambda build --release --arm64 --output-format zip "${packages[@]}"
for dir in functions/*/; do
  bins=$(cd "$dir" && cargo metadata --no-deps --format-version 1 | python3 -c '
import json, os, sys
manifest = os.path.realpath("Cargo.toml")
for package in json.load(sys.stdin)["packages"]:
    if os.path.realpath(package["manifest_path"]) == manifest:
        print(" ".join(t["name"] for t in package["targets"] if "bin" in t["kind"]))')
  for bin in $bins; do
    size=$(stat -c %s "$CARGO_TARGET_DIR/lambda/$bin/bootstrap.zip")
    printf '%s: bootstrap.zip %s bytes (%s KiB)\n' "$bin" "$size" $((size / 1024))
    [ "$size" -lt "$limit" ] || { echo "$bin: zip over 6 MiB" >&2; exit 1; }
  done
done

log "sam build"
build_dir=$(mktemp -d)
trap 'rm -rf "$build_dir"' EXIT
(cd infra && "$sam/sam" build --beta-features --build-dir "$build_dir" --template-file template.yaml)
# Every function artifact must be an arm64 ELF (e_machine 0xB7 at offset 18).
for bootstrap in "$build_dir"/*/bootstrap; do
  python3 -c 'import sys; d = open(sys.argv[1], "rb").read(20); sys.exit(d[:4] != b"\x7fELF" or d[18] != 0xB7)' \
    "$bootstrap" || { echo "$bootstrap is not an arm64 executable" >&2; exit 1; }
  printf '%s: %s bytes\n' "${bootstrap#"$build_dir"/}" "$(stat -c %s "$bootstrap")"
done

log "infra checks passed"
