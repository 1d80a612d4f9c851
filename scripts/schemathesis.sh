#!/usr/bin/env bash
# Fuzzes every endpoint of `aurum serve` against its own OpenAPI document with
# schemathesis and all its checks: no 5xx, every status and body as documented, valid
# input accepted, invalid input rejected with a documented 4xx, 405 with Allow for
# undocumented methods. Exits non-zero on any failure.
# Usage: scripts/schemathesis.sh [extra `schemathesis run` options]
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase (default 500)
#   SCHEMATHESIS_SEED          replay a run (schemathesis prints the seed it used)
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-500}

bin=$(scripts/venv.sh schemathesis "schemathesis==$version")
cargo build --locked --quiet --bin aurum
target=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

# The database, the config and schemathesis' scratch files (.schemathesis/, .hypothesis/)
# all live in one temporary directory, never in the work tree.
work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A body over 64 KiB gets the documented 413 whatever its shape (a schema cannot bound a
# body's size in bytes), so 413 counts both as a rejection of invalid data and as a
# proper answer to valid data that is merely too big.
# The buyer-feedback endpoint refuses every request schemathesis can make with 401 (it
# holds no buyer's secret) and a statement of a generated buyer id is a 404, so both count
# as proper answers; the signed paths are tested in tests/tests/feedback_*.rs.
# A conversation turn with a generated `session_token` names a session the token does not
# belong to: 403 `session_forbidden` is its proper answer (tests/tests/conversation_e2e.rs).
cat >"$work/schemathesis.toml" <<'TOML'
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "429"]

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "413", "429"]

# The console's changes: a buyer's terms follow rules no JSON Schema states (NYC ZIPs, a
# webhook URL delivery may use, floor under cap, a time zone, a reason for a pause), and a
# lead offered again must still be sellable. Schema-valid bodies that break them get 422
# naming the field, and change nothing (tests/src/console.rs).
[[operations]]
include-path-regex = "^/api/v1/admin/"
include-method-regex = "^(POST|PUT)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "413", "422", "429"]
TOML

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
RUST_LOG=${RUST_LOG:-warn} "$target/debug/aurum" serve --addr "127.0.0.1:$port" --data-dir "$work/data" &
server=$!

python3 - "$base/openapi.json" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 30
while True:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2).read()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"aurum serve did not answer at {sys.argv[1]} within 30 s")
        time.sleep(0.2)
PY

seed=()
if [ -n "${SCHEMATHESIS_SEED:-}" ]; then seed=(--seed "$SCHEMATHESIS_SEED"); fi

# One worker: with two, CPython 3.11 can fail compiling schemathesis' generated code in
# parallel threads ("AST constructor recursion depth mismatch"), a crash of the tool, not a
# finding. --max-examples keeps a run to a few minutes; `timeout` is the hard stop. The path filter
# selects every operation: without one, schemathesis leaves out GET /openapi.json because
# it served the document.
cd "$work"
timeout 900 "$bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
  --include-path-regex '^/' \
  --checks all \
  --max-examples "$max_examples" \
  --workers 1 \
  --request-timeout 10 \
  --generation-database none \
  --output-truncate true \
  --no-color \
  "${seed[@]}" "$@"
