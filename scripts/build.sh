#!/usr/bin/env bash
# Configures and builds Parley into build/ (RelWithDebInfo). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
fi
# Two cores: two jobs (Beast translation units are heavy; more jobs only thrash).
ninja -C "$BUILD_DIR" -j "${JOBS:-$(nproc)}"
