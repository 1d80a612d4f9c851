#!/usr/bin/env bash
# The routing simulation over seeds 1..N: median and range of bid_price / offline optimum
# and greedy / offline optimum (BENCHMARKS.md, "Routing strategies against the offline
# optimum").
# Usage: scripts/routing-ratios.sh [N] [extra `aurum simulate routing` options]
#   e.g. scripts/routing-ratios.sh 20 --leads 400 --date 2026-03-07
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=${1:-20}
shift || true

cargo build --locked --quiet --bin aurum
target=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
# A private copy: the target directory may be shared with other builds.
bin=$(mktemp)
trap 'rm -f "$bin"' EXIT
cp "$target/debug/aurum" "$bin"
chmod +x "$bin"

for seed in $(seq 1 "$seeds"); do
    "$bin" simulate routing --seed "$seed" "$@"
done | awk '
    # Summary rows: "<strategy> <revenue> <sold> <ratio>%".
    $1 == "bid_price" || $1 == "greedy" { sub("%", "", $4); r[$1] = r[$1] " " $4 }
    END {
        for (name in r) print name r[name]
    }' | sort | while read -r name values; do
    sorted=$(printf '%s\n' $values | sort -g)
    n=$(printf '%s\n' "$sorted" | wc -l)
    min=$(printf '%s\n' "$sorted" | head -1)
    max=$(printf '%s\n' "$sorted" | tail -1)
    median=$(printf '%s\n' "$sorted" | awk -v n="$n" '
        { v[NR] = $1 }
        END { if (n % 2) print v[(n + 1) / 2]; else printf "%.3f\n", (v[n / 2] + v[n / 2 + 1]) / 2 }')
    printf '%-10s median %s %% of the optimum, range %s-%s %% (%s seeds)\n' \
        "$name" "$median" "$min" "$max" "$n"
done
