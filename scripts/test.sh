#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs the unit tests and then the
# integration tests against real parleyd processes. Exit status 0 only if everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
echo "== unit tests"
ctest --test-dir build --output-on-failure -j "$(nproc)"
echo "== integration tests"
PARLEYD="$PWD/build/src/app/parleyd" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
