#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, starts a throwaway PostgreSQL, runs
# the unit tests (the store's on SQLite and on PostgreSQL; the S3 signer's against the AWS
# SDK), the integration tests against real parleyd processes on SQLite, again on PostgreSQL,
# and again against 3-node clusters behind HAProxy, the sanitizer and fuzz passes, then the
# browser tests of the web client (Chromium). Exit status 0 only if everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
# PostgreSQL for the store's unit tests and the PostgreSQL pass (initdb into a temporary folder,
# a free loopback port; stopped by PID when this script ends, whatever happens).
read -r PG_URL PG_DIR < <(/usr/bin/python3 tests/integration/postgres.py start)
trap '/usr/bin/python3 tests/integration/postgres.py stop "$PG_DIR"' EXIT
export PARLEY_TEST_POSTGRES="$PG_URL"
# The AWS SDK's pre-signer, the reference the S3 signer's unit test compares with.
if [ ! -f tests/s3presign/node_modules/.package-lock.json ] || [ tests/s3presign/package-lock.json -nt tests/s3presign/node_modules/.package-lock.json ]; then
  npm ci --prefix tests/s3presign --no-audit --no-fund
fi
# http_ece and jose, the independent decrypter and verifier of the push crypto's unit test.
if [ ! -f tests/webpush/node_modules/.package-lock.json ] || [ tests/webpush/package-lock.json -nt tests/webpush/node_modules/.package-lock.json ]; then
  npm ci --prefix tests/webpush --no-audit --no-fund
fi
echo "== unit tests"
ctest --test-dir build --output-on-failure -j "$(nproc)"
echo "== integration tests (SQLite)"
PARLEYD="$PWD/build/src/app/parleyd" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
echo "== integration tests (PostgreSQL)"
PARLEY_TEST_STORE=postgres PARLEYD="$PWD/build/src/app/parleyd" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  tests/integration "$@"
echo "== integration tests (3-node cluster: PostgreSQL, NATS, Redis, HAProxy; tests/integration/clustered.py)"
PARLEY_TEST_TOPOLOGY=cluster PARLEY_TEST_STORE=postgres PARLEYD="$PWD/build/src/app/parleyd" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
echo "== sanitizers"
./scripts/test-sanitizers.sh
echo "== fuzz smoke (every libFuzzer target for a few seconds, tests/fuzz/README.md)"
./scripts/fuzz.sh --smoke
echo "== browser tests"
if [ ! -f tests/browser/node_modules/.package-lock.json ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  npm ci --prefix tests/browser --no-audit --no-fund
fi
PARLEYD="$PWD/build/src/app/parleyd" npm test --prefix tests/browser --silent
