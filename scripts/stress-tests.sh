#!/usr/bin/env bash
# Hunts for tests whose outcome depends on the machine's speed: runs the integration tests (and
# with --browser the browser tests) several times in a row, optionally squeezed onto one CPU core
# that a busy loop shares with them and with every parleyd they start (--squeeze).
#
#   scripts/stress-tests.sh [--runs N] [--squeeze] [--browser] [-- PYTEST ARGS...]
#
# Expects a build (./scripts/build.sh). Prints one line per run; exit status 1 if any run failed
# (its output is kept under /tmp/parley-stress.*).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
squeeze=0
browser=0
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --squeeze) squeeze=1; shift ;;
    --browser) browser=1; shift ;;
    --) shift; break ;;
    *) echo "stress-tests.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if ((browser)) && { [ ! -f tests/browser/node_modules/.package-lock.json ] ||
                    [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; }; then
  npm ci --prefix tests/browser --no-audit --no-fund >/dev/null
fi
out=$(mktemp -d /tmp/parley-stress.XXXXXX)
prefix=()
hog=""
if ((squeeze)); then
  prefix=(taskset -c 0)
  taskset -c 0 sh -c 'while :; do :; done' &
  hog=$!
  trap 'kill $hog 2>/dev/null || true' EXIT
fi
failed=0
for ((i = 1; i <= runs; i++)); do
  start=$(date +%s)
  if PARLEYD="$PWD/build/src/app/parleyd" "${prefix[@]}" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
      tests/integration "$@" >"$out/integration-$i.log" 2>&1; then
    result="passed"
  else
    result="FAILED ($out/integration-$i.log)"
    failed=1
  fi
  echo "run $i integration: $result in $(($(date +%s) - start)) s: $(tail -1 "$out/integration-$i.log")"
  if ((browser)); then
    start=$(date +%s)
    if PARLEYD="$PWD/build/src/app/parleyd" "${prefix[@]}" npm test --prefix tests/browser --silent \
        >"$out/browser-$i.log" 2>&1; then
      result="passed"
    else
      result="FAILED ($out/browser-$i.log)"
      failed=1
    fi
    echo "run $i browser: $result in $(($(date +%s) - start)) s"
  fi
done
exit $failed
