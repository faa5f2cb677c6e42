#!/usr/bin/env bash
# The cluster measured against one node, same machine, same sitting: a 3-node cluster brought up
# by scripts/cluster.sh (3 NATS, Redis, PostgreSQL primary + synchronous standby, HAProxy) in a
# scratch directory, and as the baseline one parleyd spawned by parley-bench on the same
# PostgreSQL (same primary and standby, a database of its own). RUNS times (default 3), cluster
# and single alternating, each scenario:
#   direct-rate1k  1:1 at 1,000 msg/s     (100 pairs x 10/s)   ack and send -> recipient latency
#   direct-rate    1:1 at 10,000 msg/s    (100 pairs x 100/s)
#   direct-flat    1:1 flat out           (50 pairs, 32 in flight each)
#   group-1000     a group of 1,000, 6 senders (2 per node), 4 in flight each: deliveries/s
#   storm          5,000 clients dropped at once; cluster: through HAProxy
#   node-kill      (cluster only) 5,000 clients through HAProxy, node 1 killed (-9): time until
#                  its clients are back on the other nodes and re-synced; node 1 is started again
#   direct-presence  direct-rate1k while 10,000 more users (in pairs of peers) switch between
#                  away and online every 5 s (2,000 presence changes/s): compare with direct-rate1k
# On the cluster, each pair's sender and recipient are on different nodes (every message
# crosses the bus), group members are spread round-robin. Then the cluster is taken down
# (`down --wipe`) after its logs are copied into the results.
#
#   BUILD_DIR=/tmp/bench-build RUNS=3 ./bench/cluster.sh
#   ONLY="direct-rate1k direct-presence" ./bench/cluster.sh    (some scenarios only)
#
# Results: $OUT (default bench/results/cluster/){cluster,single}/NAME-RUN.json, with the
# cluster runs' bus traffic, cluster counters and per-component CPU merged in
# (bench/cluster_stats.py); node logs in $OUT/logs/; medians and ratios printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
BUILD=${BUILD_DIR:-build}
BENCH=$BUILD/tools/bench/parley-bench
PARLEYD=$(realpath "$BUILD/src/app/parleyd")
OUT=${OUT:-bench/results/cluster}
PY=/usr/bin/python3
STATS=bench/cluster_stats.py
TOKEN=bench-admin-token-0123456789abcdef  # parley-bench's default --admin-token
for f in "$BENCH" "$PARLEYD"; do
  [ -x "$f" ] || { echo "cluster.sh: no $f (build: cmake --build $BUILD --target parleyd parley-bench)" >&2; exit 1; }
done

SCRATCH=$(mktemp -d /tmp/parley-cluster-bench-XXXXXX)
chmod 755 "$SCRATCH"  # PostgreSQL runs as its own user and must reach its data dir
export PARLEY_CLUSTER_DIR=$SCRATCH/cluster
STATE=$PARLEY_CLUSTER_DIR/cluster.json
FRONT_PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -rf "$OUT" && mkdir -p "$OUT/cluster" "$OUT/single" "$OUT/logs"

# The single-node benchmarks' settings (what parley-bench gives a server it spawns): a load
# generator is one client address sending far faster than people.
NODE_FLAGS="--auth.admin_token $TOKEN --server.log_level warn \
  --limits.frames_per_second 10000000 --limits.frames_burst 10000000 \
  --limits.user_requests_per_second 10000000 --limits.user_requests_burst 10000000 \
  --limits.max_connections_per_address 10000000 --limits.max_pending_per_address 10000000 \
  --auth.signups_per_address_per_hour 1000000"

finish() {
  local status=$?
  set +e
  if [ -f "$STATE" ]; then
    for d in "$PARLEY_CLUSTER_DIR"/node-* "$PARLEY_CLUSTER_DIR"/nats/nats-* "$PARLEY_CLUSTER_DIR"/haproxy \
             "$PARLEY_CLUSTER_DIR"/redis "$PARLEY_CLUSTER_DIR"/postgres/primary "$PARLEY_CLUSTER_DIR"/postgres/standby; do
      [ -d "$d" ] || continue
      name=$(basename "$d")
      for log in "$d"/*.log; do [ -f "$log" ] && cp "$log" "$OUT/logs/$name-$(basename "$log")"; done
    done
    # HAProxy logs every connection (MBs): keep the counts by status and termination state, and
    # the lines that are neither a WebSocket upgrade nor a 200.
    if [ -f "$OUT/logs/haproxy-haproxy.log" ]; then
      { echo "# count, HTTP status, termination state"
        awk '$6 ~ /^[0-9]+$/ && NF > 10 {print $6, $10}' "$OUT/logs/haproxy-haproxy.log" | sort | uniq -c
        echo "# other lines"
        awk '!($6 ~ /^(101|200)$/)' "$OUT/logs/haproxy-haproxy.log" | head -50
      } > "$OUT/logs/haproxy-summary.txt"
      rm "$OUT/logs/haproxy-haproxy.log"
    fi
    ./scripts/cluster.sh down --wipe
  fi
  rmdir "$SCRATCH" 2>/dev/null
  exit $status
}
trap finish EXIT

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
./scripts/cluster.sh up --nodes 3 --port "$FRONT_PORT" --parleyd "$PARLEYD" --node-arg "$NODE_FLAGS" >&2

# The nodes, HAProxy, and the baseline's database: on the cluster's PostgreSQL (primary +
# synchronous standby), beside the cluster's own.
read -r NODE_URLS NODE_PIDS FRONT_URL ADMIN_DB SINGLE_STORE < <($PY - "$STATE" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
nodes = [c for c in s["components"] if c["kind"] == "parleyd"]
head, query = s["store_url"].split("?", 1)
base = head.rsplit("/", 1)[0]
print(",".join(f"http://127.0.0.1:{c['port']}" for c in nodes), ",".join(str(c["pid"]) for c in nodes),
      s["url"], f"{base}/postgres?{query}", f"{base}/bench_single?{query}")
EOF
)
psql -X -q -d "$ADMIN_DB" -c "CREATE DATABASE bench_single"
echo "== nodes $NODE_URLS (pids $NODE_PIDS), HAProxy $FRONT_URL" >&2
echo "== what each node subscribes to on NATS:" >&2
$PY "$STATS" subscriptions "$STATE" >&2

node_pids() {  # the nodes' PIDs now, comma-separated (node N's alone with an argument N)
  $PY - "$STATE" "${1:-}" <<'EOF2'
import json, sys
nodes = [c for c in json.load(open(sys.argv[1]))["components"] if c["kind"] == "parleyd"]
print(",".join(str(c["pid"]) for c in nodes if not sys.argv[2] or c["node_id"] == int(sys.argv[2])))
EOF2
}

run() {  # mode (cluster|single), name, run, parley-bench scenario args...
  local mode=$1 name=$2 i=$3; shift 3
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return 0; fi
  if [ "$name" = node-kill ] && [ "$mode" = single ]; then return 0; fi  # nothing to fail over to
  local result="$OUT/$mode/$name-$i.json" target=() scenario_extra=() sampler
  if [ "$mode" = cluster ]; then
    case "$name" in
      storm) target=(--server "$FRONT_URL") ;;
      node-kill) target=(--server "$FRONT_URL"); scenario_extra=(--kill-pid "$(node_pids 1)") ;;
      *) target=(--server "$NODE_URLS") ;;
    esac
    target+=(--admin-token "$TOKEN" --server-pid "$NODE_PIDS")
    $PY "$STATS" snapshot "$STATE" "$SCRATCH/before.json"
  else
    target=(--spawn-server "$PARLEYD" --server-arg --store.url --server-arg "$SINGLE_STORE")
  fi
  # A shared machine: wait (30 s at most) for other work to calm down; the CPU of everything
  # else during the measured window is in the result all the same (cpu_components.other).
  local busy
  busy=$($PY "$STATS" quiet 25 30)
  echo "== $mode $name run $i: $* (load: $(cut -d' ' -f1 /proc/loadavg), CPU busy before: $busy%)" >&2
  $PY "$STATS" sample "$STATE" "$SCRATCH/samples.jsonl" 300 &
  sampler=$!
  local status=0
  # Progress lines (stderr) are time-stamped: the last one marks the end of the measured window,
  # over which the components' CPU is computed.
  { timeout 300 "$BENCH" "${target[@]}" --out "$result" "$@" "${scenario_extra[@]}" 2>&1 >/dev/null; } |
    $PY "$STATS" stamp "$SCRATCH/progress.txt" || status=$?
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  if [ $status -ne 0 ]; then echo "== $mode $name run $i: parley-bench exited with $status" >&2; fi
  if [ "$name" = node-kill ]; then
    ./scripts/cluster.sh start-node 1 >&2
    NODE_PIDS=$(node_pids)
  fi
  [ -f "$result" ] || return 0
  if [ "$name" = node-kill ]; then  # node 1's counters restarted from zero: no bus figures
    $PY "$STATS" merge "$result" - - "$SCRATCH/samples.jsonl" --progress "$SCRATCH/progress.txt" --no-bus
  elif [ "$mode" = cluster ]; then
    $PY "$STATS" snapshot "$STATE" "$SCRATCH/after.json"
    $PY "$STATS" merge "$result" "$SCRATCH/before.json" "$SCRATCH/after.json" "$SCRATCH/samples.jsonl" \
      --progress "$SCRATCH/progress.txt"
  else
    $PY "$STATS" merge "$result" - - "$SCRATCH/samples.jsonl" --progress "$SCRATCH/progress.txt" --no-bus
  fi
  sleep 2  # sessions closed, presence settled
}

for i in $(seq 1 "$RUNS"); do
  for mode in cluster single; do
    run "$mode" direct-rate1k "$i" direct --pairs 100 --rate 10 --duration 10 --warmup 2
    run "$mode" direct-rate "$i" direct --pairs 100 --rate 100 --duration 10 --warmup 2
    run "$mode" direct-flat "$i" direct --pairs 50 --window 32 --duration 10 --warmup 2
    run "$mode" group-1000 "$i" group --group-size 1000 --senders 6 --window 4 --duration 10 --warmup 2
    run "$mode" storm "$i" reconnect-storm --clients 5000
    run "$mode" node-kill "$i" reconnect-storm --clients 5000
    run "$mode" direct-presence "$i" direct --pairs 100 --rate 10 --duration 10 --warmup 5 \
      --presence-users 10000 --presence-period 5
  done
done
./scripts/cluster.sh status >&2 || true
echo "### cluster (3 nodes) against one node, ratio = cluster / single"
$PY bench/summarize.py "$OUT/cluster" "$OUT/single"
