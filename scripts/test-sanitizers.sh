#!/usr/bin/env bash
# Builds parleyd and the unit tests with AddressSanitizer + UndefinedBehaviorSanitizer (into
# build-asan/) and runs the unit tests and the bad-input, messaging and push integration tests
# against the instrumented server. Part of scripts/test.sh; can be run alone.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build-asan
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPARLEY_SANITIZE=ON >/dev/null
fi
ninja -C "$BUILD_DIR" -j "${JOBS:-$(nproc)}" parleyd parley_unit_tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== unit tests (ASan + UBSan)"
"$BUILD_DIR/tests/unit/parley_unit_tests" --gtest_brief=1
echo "== integration tests against an ASan + UBSan parleyd"
PARLEYD="$PWD/$BUILD_DIR/src/app/parleyd" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  tests/integration/test_bad_input.py tests/integration/test_messaging.py tests/integration/test_live.py \
  tests/integration/test_transport.py tests/integration/test_security.py tests/integration/test_push_delivery.py
