#!/usr/bin/env bash
# Runs every parley-bench scenario RUNS times (default 3) against a fresh parleyd each time,
# saves the JSON results in bench/results/, and prints the median of the main figures.
# The numbers in docs/benchmarks.md come from this script.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
BENCH=build/tools/bench/parley-bench
PARLEYD=build/src/app/parleyd
OUT=bench/results
mkdir -p "$OUT"
run() {  # name, args...
  local name=$1; shift
  for i in $(seq 1 "$RUNS"); do
    echo "== $name run $i: $*" >&2
    "$BENCH" --quiet --spawn-server "$PARLEYD" --out "$OUT/$name-$i.json" "$@" > /dev/null
  done
}
run direct-flat direct --pairs 50 --window 32 --duration 10 --warmup 2
run direct-rate direct --pairs 100 --rate 100 --duration 10 --warmup 2
run group-100 group --group-size 100 --senders 4 --window 8 --duration 10 --warmup 2
run group-1000 group --group-size 1000 --senders 4 --window 4 --duration 10 --warmup 2
run history history --messages 20000 --iterations 2000 --page 50
run connections connections --connections 15000 --hold 10
run storm reconnect-storm --clients 5000
build/bench/micro/parley_micro_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out="$OUT/micro.json" --benchmark_out_format=json > /dev/null
/usr/bin/python3 bench/summarize.py "$OUT"
