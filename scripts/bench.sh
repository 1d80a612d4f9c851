#!/usr/bin/env bash
# Runs the end-to-end benchmarks on this machine and rewrites their section of
# BENCHMARKS.md (between the `bench.sh` markers), quoting the machine, medians and ratios
# measured in this one run:
#   * the load generator (`aurum load`, 16 connections, multi-turn conversations) against a
#     release `aurum serve` on the embedded store, and on DynamoDB (moto) + Redis;
#   * the domain-only cost of a turn (criterion bench `conversation_turn`), the bound that
#     turns/s is compared with;
#   * the server's CPU share, peak RSS, and the load generator's own CPU.
# Loopback only; every run stops by itself. Takes ~5 min after the release build.
#   BENCH_SECONDS   seconds per load run (20)      BENCH_RUNS   load runs per backend (3)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${BENCH_SECONDS:-20}"
runs="${BENCH_RUNS:-3}"
target="${CARGO_TARGET_DIR:-target}"
out="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT

cargo build --release --bin aurum
aurum="$target/release/aurum"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One backend: `aurum serve` started fresh for each run; prints one JSON report per run.
load_runs() { # name, then env assignments for the server
  local name=$1; shift
  for run in $(seq 1 "$runs"); do
    local port data
    port=$(free_port)
    data="$out/$name-$run"
    env "$@" RUST_LOG=warn "$aurum" serve --addr "127.0.0.1:$port" --data-dir "$data" \
      >"$out/$name-$run.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      sleep 0.1
    done
    "$aurum" load --url "http://127.0.0.1:$port" --connections 16 --seconds "$seconds" \
      --seed "$run" --server-pid "$pid" --json "$out/$name-$run.json" >&2
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
}

load_runs embedded AURUM_BACKEND=embedded

aws_env=()
if eval "$(scripts/services.sh start)"; then
  aws_env=(AURUM_BACKEND=aws AWS_ENDPOINT_URL="http://127.0.0.1:${AURUM_MOTO_PORT:-5055}"
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
    AWS_EC2_METADATA_DISABLED=true REDIS_URL="redis://127.0.0.1:${AURUM_REDIS_PORT:-6379}"
    AURUM_CONTACT_HASH_KEY="local key of the benchmark runs only, not a secret")
  env "${aws_env[@]}" "$aurum" setup >/dev/null
  load_runs aws "${aws_env[@]}"
fi

# The domain-only bound: one 20-turn chat through `domain::turn::decide`.
cargo bench -p aurum-shared --bench conversation_turn -- --noplot 2>/dev/null | tee "$out/criterion.txt" >&2

python3 - "$out" BENCHMARKS.md "$seconds" "$runs" <<'PY'
import json, os, re, statistics, subprocess, sys, datetime
out, path, seconds, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def reports(name):
    r = []
    for i in range(1, runs + 1):
        f = os.path.join(out, f"{name}-{i}.json")
        if os.path.exists(f):
            r.append(json.load(open(f)))
    return r

def med(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else None

crit = open(os.path.join(out, "criterion.txt")).read()
m = re.search(r"time:\s*\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", crit)
chat_us = None
if m:
    value, unit = float(m.group(1)), m.group(2)
    chat_us = value * {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3}[unit]
turn_us = chat_us / 20 if chat_us else None
bound = 1e6 / turn_us if turn_us else None

cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
cores = os.cpu_count()
load = open("/proc/loadavg").read().split()[:3]

lines = []
lines.append(f"Measured by `scripts/bench.sh` on {datetime.date.today()}: {cores} cores ({cpu}), "
             f"load average {' '.join(load)} at the end; {runs} runs of {seconds} s per backend, "
             f"16 connections, each run a fresh `aurum serve` (release) and data directory; medians.")
lines.append("")
lines.append("| backend | turns/s | p50 | p99 | server CPU (cores) | turns per server CPU-second | load generator CPU | server peak RSS |")
lines.append("|---|---|---|---|---|---|---|---|")
rows = {}
for name, label in [("embedded", "embedded (redb)"), ("aws", "DynamoDB (moto) + Redis")]:
    rs = reports(name)
    if not rs:
        continue
    tps = med(rs, "turns_per_second")
    rows[name] = tps
    cores_used = statistics.median([r["server_cpu_seconds"] / r["seconds"] for r in rs if r.get("server_cpu_seconds")])
    gen = statistics.median([r["generator_cpu_seconds"] / r["seconds"] for r in rs])
    lines.append(f"| {label} | **{tps:,.0f}** | {med(rs,'p50_ms'):.2f} ms | **{med(rs,'p99_ms'):.2f} ms** | "
                 f"{cores_used:.2f} | {med(rs,'turns_per_server_cpu_second'):,.0f} | {gen:.2f} cores | "
                 f"{med(rs,'server_peak_rss_mib'):.0f} MiB |")
lines.append("")
if turn_us:
    lines.append(f"Domain-only bound (criterion `conversation_turn`, same run): {chat_us:.1f} µs per 20-turn chat, "
                 f"{turn_us:.2f} µs per turn = {bound:,.0f} turns/s on one core.")
    for name, tps in rows.items():
        lines.append(f"* {name}: turns/s ÷ the one-core domain bound = {tps / bound:.4f}")
lines.append("")
lines.append("The AWS row measures moto (a Python server on the same 2 cores), not DynamoDB: "
             "it shows the function's overhead per round trip, not AWS latency.")
text = "\n".join(lines)

doc = open(path).read()
begin, end = "<!-- bench.sh:begin -->", "<!-- bench.sh:end -->"
section = f"{begin}\n{text}\n{end}"
if begin in doc:
    doc = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: section, doc, flags=re.S)
else:
    doc = doc.rstrip() + "\n\n## End to end: turns per second against `aurum serve`\n\n" + section + "\n"
open(path, "w").write(doc)
print(text)
PY
