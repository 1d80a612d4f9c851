#!/usr/bin/env bash
# Runs the end-to-end benchmarks on this machine and rewrites their section of
# BENCHMARKS.md (between the `bench.sh` markers), quoting the machine, medians and ratios
# measured in this one run:
#   * the load generator (`aurum load`, 16 connections, multi-turn conversations) against a
#     release `aurum serve` on the embedded store, and on DynamoDB (moto) + Redis;
#   * the domain-only cost of a turn (criterion bench `conversation_turn`), the bound that
#     turns/s is compared with;
#   * the server's CPU share, peak RSS, and the load generator's own CPU;
#   * each function's cold start under a local Lambda Runtime API (`aurum lambda-bench`):
#     process start to first poll, the first event, warm events, peak RSS — the function
#     binaries on DynamoDB (moto) + Redis, and `aurum lambda NAME` on the embedded store;
#     the router's figures are batches of 10 qualified leads, sold and delivered to a
#     loopback buyer inbox, i.e. its throughput per instance, set against the router's
#     domain-only cost per lead (criterion bench `routing_decision`).
# Loopback only; every run stops by itself. Takes ~8 min after the release build.
#   BENCH_SECONDS   seconds per load run (20)      BENCH_RUNS   runs per backend (3)
#   BENCH_EVENTS    warm events per cold-start run (400)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${BENCH_SECONDS:-20}"
runs="${BENCH_RUNS:-3}"
events="${BENCH_EVENTS:-400}"
target="${CARGO_TARGET_DIR:-target}"
out="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT

cargo build --release --bins
aurum="$target/release/aurum"
functions=(conversation dashboard feedback router jobs)

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

# Cold starts: a fresh process (and, on the embedded store, a fresh data directory) per run.
lambda_runs() { # backend, then env assignments for the function process
  local name=$1; shift
  for f in "${functions[@]}"; do
    for run in $(seq 1 "$runs"); do
      local extra=() program=("$target/release/$f") n=$events
      [ "$name" = embedded ] && program=("$aurum" lambda "$f")
      [ "$f" = router ] && { extra=(--buyers-inbox); n=$((events / 10)); }
      env "$@" RUST_LOG=warn AURUM_DATA_DIR="$out/lambda-$name-$f-$run" \
        "$aurum" lambda-bench --function "$f" --events "$n" --seed "$((run + RANDOM))" \
        "${extra[@]}" --json "$out/lambda-$name-$f-$run.json" -- "${program[@]}" >&2
    done
  done
}
lambda_runs embedded AURUM_BACKEND=embedded

aws_env=()
if eval "$(scripts/services.sh start)"; then
  aws_env=(AURUM_BACKEND=aws AWS_ENDPOINT_URL="http://127.0.0.1:${AURUM_MOTO_PORT:-5055}"
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
    AWS_EC2_METADATA_DISABLED=true REDIS_URL="redis://127.0.0.1:${AURUM_REDIS_PORT:-6379}"
    AURUM_CONTACT_HASH_KEY="local key of the benchmark runs only, not a secret"
    AURUM_OUTBOUND=sandbox)
  env "${aws_env[@]}" "$aurum" setup >/dev/null
  load_runs aws "${aws_env[@]}"
  lambda_runs aws "${aws_env[@]}"
fi

# The disk's durable-write latency, the floor under a durable turn's latency: 2,000
# 4 KiB writes each followed by fdatasync, in the data directory's file system.
python3 - "$out" >"$out/fsync.json" <<'PY'
import json, os, sys, time
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT)
lat = []
for i in range(2000):
    os.pwrite(fd, b"x" * 4096, (i % 256) * 4096)
    t = time.perf_counter()
    os.fdatasync(fd)
    lat.append((time.perf_counter() - t) * 1e3)
os.close(fd)
os.remove(path)
lat.sort()
print(json.dumps({"p50_ms": lat[len(lat) // 2], "p99_ms": lat[int(len(lat) * 0.99) - 1], "max_ms": lat[-1]}))
PY

# The domain-only bound: one 20-turn chat through `domain::turn::decide`.
cargo bench -p aurum-shared --bench conversation_turn -- --noplot 2>/dev/null | tee "$out/criterion.txt" >&2
# The router's domain work per lead (bid prices + route over 7 buyers, 400 leads a day).
cargo bench -p aurum-cli --bench routing_decision -- --noplot 2>/dev/null | tee "$out/routing.txt" >&2

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

def criterion_median_us(name):
    """The median of the first benchmark in a criterion report, in µs."""
    text = open(os.path.join(out, name)).read()
    m = re.search(r"time:\s*\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", text)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2)
    return value * {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}[unit]

chat_us = criterion_median_us("criterion.txt")
routing_day_us = criterion_median_us("routing.txt")
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
fs = json.load(open(os.path.join(out, "fsync.json")))
lines.append(f"* the disk, same run: fdatasync of a 4 KiB write p50 {fs['p50_ms']:.2f} ms, p99 {fs['p99_ms']:.2f} ms, "
             f"max {fs['max_ms']:.2f} ms; a turn answered only once durable waits, at worst, for the commit in "
             f"flight and then its own, so its p99 is bounded below by about twice the disk's")
if "embedded" in rows:
    p99 = med(reports("embedded"), "p99_ms")
    lines.append(f"* embedded turn p99 ÷ the disk's fdatasync p99 = {p99 / fs['p99_ms']:.2f}")
lines.append("")
lines.append("The AWS row measures moto (a Python server on the same 2 cores), not DynamoDB: "
             "it shows the function's overhead per round trip, not AWS latency.")
lines.append("")
lines.append("### Cold start, warm events and memory of each function")
lines.append("")
lines.append("Each function as a process under a local Lambda Runtime API (`aurum lambda-bench`, "
             "`cli/src/lambda_bench.rs`): init = process start to its first poll of "
             "`/2018-06-01/runtime/invocation/next` (clients built and connections opened before it); "
             "first event = the first event handed over until its answer; warm = the events after it, "
             "one at a time, as one Lambda instance takes them; peak RSS = VmHWM after the last event. "
             f"Medians of {runs} fresh processes. Conversation events are chat turns (the load generator's "
             "scripts), router events are SQS batches of 10 distinct qualified leads, each sold and delivered "
             "to a loopback buyer inbox; the other functions get their sample events from `events/`, cycled.")
lines.append("")
lines.append("| function | backend | init | first event | warm p50 | warm p99 | warm events | RSS at init | peak RSS |")
lines.append("|---|---|---|---|---|---|---|---|---|")
router = {}
for f in ["conversation", "dashboard", "feedback", "router", "jobs"]:
    for name, label in [("embedded", "embedded (`aurum lambda`)"), ("aws", "moto + Redis (function binary)")]:
        rs = reports(f"lambda-{name}-{f}")
        if not rs:
            continue
        router_label = " (batch of 10)" if f == "router" else ""
        lines.append(f"| `{f}`{router_label} | {label} | **{med(rs,'init_ms'):.1f} ms** | **{med(rs,'first_event_ms'):.1f} ms** | "
                     f"{med(rs,'warm_p50_ms'):.2f} ms | {med(rs,'warm_p99_ms'):.2f} ms | {rs[0]['warm_events']} | "
                     f"{med(rs,'rss_at_init_mib'):.1f} MiB | **{med(rs,'peak_rss_mib'):.1f} MiB** |")
        if f == "router":
            router[name] = med(rs, "warm_p50_ms")
lines.append("")
lead_us = routing_day_us / 400 if routing_day_us else None
for name, p50 in router.items():
    share = ""
    if lead_us:
        share = (f"; the domain's share (bid prices over a five-day forecast + `route` over 7 buyers, "
                 f"criterion `routing_decision`, same run: {lead_us:.1f} µs a lead) "
                 f"{lead_us / (p50 * 100):.2%}, the rest the store's reads and writes, the signed "
                 f"delivery to the buyer and the event's JSON")
    lines.append(f"* router, {name}: {10 / p50 * 1000:,.0f} leads/s per instance "
                 f"(one batch of 10 at a time, {p50 / 10:.2f} ms a lead){share}")
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
