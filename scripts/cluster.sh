#!/usr/bin/env bash
# A local Parley cluster on loopback: 3 NATS servers (JetStream), Redis, PostgreSQL primary +
# synchronous standby, N parleyd nodes, HAProxy in front (deploy/haproxy.cfg). Everything runs
# detached; its PIDs, ports and log paths are in var/cluster/cluster.json.
#
#   ./scripts/cluster.sh up [--nodes N] [--port P]   installs/builds if needed, starts (front port 8080)
#   ./scripts/cluster.sh status                      each component: PID, alive, healthy
#   ./scripts/cluster.sh down [--wipe]               stops exactly what up started; --wipe deletes var/cluster
#
# The work is done by tests/integration/cluster.py (the same code the integration tests use).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${PARLEY_CLUSTER_DIR:-var/cluster}
PY=/usr/bin/python3
CLUSTER=tests/integration/cluster.py

usage() {
  echo "usage:" >&2
  sed -n '6,8s/^#  //p' "$0" >&2
  exit 2
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  up)
    # Fail before building when the front port is taken (cluster.py checks again).
    port=8080
    args=("$@")
    for ((i = 0; i < ${#args[@]}; i++)); do
      if [ "${args[i]}" = --port ] && [ $((i + 1)) -lt ${#args[@]} ]; then port=${args[i + 1]}; fi
    done
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "cluster: port $port on 127.0.0.1 is in use; choose HAProxy's front port with --port P" >&2
      exit 1
    fi
    ./scripts/install-deps.sh
    ./scripts/build.sh
    exec "$PY" "$CLUSTER" up --dir "$DIR" "$@"
    ;;
  status)
    exec "$PY" "$CLUSTER" status --dir "$DIR" "$@"
    ;;
  down)
    exec "$PY" "$CLUSTER" down --dir "$DIR" "$@"
    ;;
  *)
    usage
    ;;
esac
