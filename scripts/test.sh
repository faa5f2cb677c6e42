#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs the unit tests, the integration
# tests against real parleyd processes, then the browser tests of the web client (Chromium).
# Exit status 0 only if everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
echo "== unit tests"
ctest --test-dir build --output-on-failure -j "$(nproc)"
echo "== integration tests"
PARLEYD="$PWD/build/src/app/parleyd" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
echo "== sanitizers"
./scripts/test-sanitizers.sh
echo "== fuzz smoke (every libFuzzer target for a few seconds, tests/fuzz/README.md)"
./scripts/fuzz.sh --smoke
echo "== browser tests"
if [ ! -f tests/browser/node_modules/.package-lock.json ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  npm ci --prefix tests/browser --no-audit --no-fund
fi
PARLEYD="$PWD/build/src/app/parleyd" npm test --prefix tests/browser --silent
