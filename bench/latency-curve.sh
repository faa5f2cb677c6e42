#!/bin/bash
# The write path's latency curve (issue 16; docs/benchmarks.md "Write path"): parley-bench direct
# at offered loads from 1,000 msg/s to flat out, RUNS runs each against a fresh server, for one
# or more parleyd binaries (an A/B: "before" and "after" built from two commits), then the
# disk's floor (build/bench/micro/parley_disk_floor) on the same disk.
#
#   bench/latency-curve.sh OUT_DIR LABEL=PARLEYD [LABEL=PARLEYD ...]
#
# Writes OUT_DIR/curve.tsv (label, offered msg/s, run, acked msg/s, ack p50/p99 ms, server CPU %),
# OUT_DIR/floor.json and, with gnuplot, OUT_DIR/latency-curve.png (medians of the runs).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/latency-curve.sh OUT_DIR LABEL=PARLEYD ...}
shift
RUNS=${RUNS:-3}
BENCH=build/tools/bench/parley-bench
mkdir -p "$OUT"
# offered load (msg/s; 0 = flat out) and the parley-bench arguments that make it
LOADS=("1000:--pairs 50 --rate 20" "5000:--pairs 100 --rate 50" "10000:--pairs 100 --rate 100"
       "25000:--pairs 200 --rate 125" "50000:--pairs 200 --rate 250" "0:--pairs 50 --window 32")
printf 'label\toffered\trun\tacked_per_s\tp50_ms\tp99_ms\tserver_cpu\n' > "$OUT/curve.tsv"
for run in $(seq 1 "$RUNS"); do
  for load in "${LOADS[@]}"; do
    for binary in "$@"; do  # interleaved, so both sides see the same noise
      label=${binary%%=*}
      path=${binary#*=}
      # shellcheck disable=SC2086
      "$BENCH" --quiet --spawn-server "$path" --out "$OUT/run.json" direct ${load#*:} --duration 10 > /dev/null
      python3 - "$OUT/run.json" "$label" "${load%%:*}" "$run" >> "$OUT/curve.tsv" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a = d["latency_ack"]
print("\t".join([sys.argv[2], sys.argv[3], sys.argv[4], "%.0f" % d["results"]["acked_per_s"], "%.2f" % a["p50_ms"],
                 "%.2f" % a["p99_ms"], "%.0f" % d["server"]["cpu_percent"]]))
PY
    done
  done
done
build/bench/micro/parley_disk_floor --dir "${FLOOR_DIR:-/tmp}" --bytes 8192 --count 2000 > "$OUT/floor.json"
python3 bench/latency_curve_plot.py "$OUT"
