#!/usr/bin/env bash
# SQLite next to PostgreSQL, same machine, same sitting: the store-bound scenarios (1:1 flat out,
# 1:1 at 10,000 msg/s, history and sync after missed messages) RUNS times (default 3) on each
# engine, alternating, each run on a fresh parleyd and a fresh database. PostgreSQL is a
# throwaway server on this machine (tests/integration/postgres.py: initdb defaults, fsync on,
# synchronous_commit on). JSON in bench/results/engines/{sqlite,postgres}/; medians printed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
BENCH=build/tools/bench/parley-bench
PARLEYD=build/src/app/parleyd
OUT=bench/results/engines
rm -rf "$OUT" && mkdir -p "$OUT/sqlite" "$OUT/postgres"
read -r PG_URL PG_DIR < <(/usr/bin/python3 tests/integration/postgres.py start)
trap '/usr/bin/python3 tests/integration/postgres.py stop "$PG_DIR"' EXIT
PG_BASE=${PG_URL%/*}
run() {  # engine, name, run, args...
  local engine=$1 name=$2 i=$3; shift 3
  local store=()
  if [ "$engine" = postgres ]; then
    local db="bench_${name//-/_}_$i"
    psql -X -q -d "$PG_URL" -c "CREATE DATABASE $db"
    store=(--server-arg --store.url --server-arg "$PG_BASE/$db")
  fi
  echo "== $engine $name run $i: $* (load: $(cut -d' ' -f1 /proc/loadavg))" >&2
  "$BENCH" --quiet --spawn-server "$PARLEYD" "${store[@]}" --out "$OUT/$engine/$name-$i.json" "$@" > /dev/null
}
for i in $(seq 1 "$RUNS"); do
  for engine in sqlite postgres; do
    run "$engine" direct-flat "$i" direct --pairs 50 --window 32 --duration 10 --warmup 2
    run "$engine" direct-rate "$i" direct --pairs 100 --rate 100 --duration 10 --warmup 2
    run "$engine" history "$i" history --messages 20000 --iterations 2000 --page 50 --missed 1000
  done
done
for engine in sqlite postgres; do
  echo "### $engine"
  /usr/bin/python3 bench/summarize.py "$OUT/$engine"
done
