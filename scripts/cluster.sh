#!/usr/bin/env bash
# A local Parley cluster on loopback: 3 NATS servers (JetStream), Redis, PostgreSQL primary +
# synchronous standby, s3rver (the media store), N parleyd nodes, HAProxy in front
# (deploy/haproxy.cfg). Everything runs detached; its PIDs, ports and log paths are in
# var/cluster/cluster.json.
#
#   ./scripts/cluster.sh up [--nodes N] [--port P]   installs/builds if needed, starts (front port 8080)
#        [--parleyd PATH] [--node-arg ARG ...]        a parleyd of your own (then no build); extra node flags
#        [--media s3|local]                           media in s3rver (default) or one shared var/cluster/media
#   ./scripts/cluster.sh status                      each component: PID, alive, healthy
#   ./scripts/cluster.sh down [--wipe]               stops exactly what up started; --wipe deletes var/cluster
#   ./scripts/cluster.sh stop-node N [--kill]        one node: SIGTERM (drains) or SIGKILL
#   ./scripts/cluster.sh start-node N                starts it again (same ports, data dir, flags)
#
# The work is done by tests/integration/cluster.py (the same code the integration tests use).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${PARLEY_CLUSTER_DIR:-var/cluster}
PY=/usr/bin/python3
CLUSTER=tests/integration/cluster.py

usage() {
  echo "usage:" >&2
  sed -n '7,13s/^#  //p' "$0" >&2
  exit 2
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  up)
    # Fail before building when the front port is taken (cluster.py checks again).
    port=8080
    own_parleyd=no
    args=("$@")
    for ((i = 0; i < ${#args[@]}; i++)); do
      if [ "${args[i]}" = --port ] && [ $((i + 1)) -lt ${#args[@]} ]; then port=${args[i + 1]}; fi
      case "${args[i]}" in --parleyd | --parleyd=*) own_parleyd=yes ;; esac
    done
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "cluster: port $port on 127.0.0.1 is in use; choose HAProxy's front port with --port P" >&2
      exit 1
    fi
    ./scripts/install-deps.sh
    # With --parleyd the binary is the caller's (e.g. a build dir of their own): build nothing.
    if [ "$own_parleyd" = no ]; then ./scripts/build.sh; fi
    # s3rver, the media store (cluster.py falls back to --media local without it).
    if command -v npm >/dev/null && { [ ! -f tests/s3presign/node_modules/.package-lock.json ] ||
      [ tests/s3presign/package-lock.json -nt tests/s3presign/node_modules/.package-lock.json ]; }; then
      npm ci --prefix tests/s3presign --no-audit --no-fund || echo "cluster: npm ci of tests/s3presign failed: media stays local" >&2
    fi
    exec "$PY" "$CLUSTER" up --dir "$DIR" "$@"
    ;;
  status)
    exec "$PY" "$CLUSTER" status --dir "$DIR" "$@"
    ;;
  down | stop-node | start-node)
    exec "$PY" "$CLUSTER" "$command" --dir "$DIR" "$@"
    ;;
  *)
    usage
    ;;
esac
