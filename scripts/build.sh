#!/usr/bin/env bash
# Configures and builds Parley into build/ (RelWithDebInfo), then the web client into web/dist.
# Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
fi
# Two cores: two jobs (Beast translation units are heavy; more jobs only thrash).
ninja -C "$BUILD_DIR" -j "${JOBS:-$(nproc)}"

# The web client: web/dist, which parleyd serves at /. Dependencies are (re)installed from the
# lock file only when they are missing or the lock file changed.
if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  npm ci --prefix web --no-audit --no-fund
fi
npm run build --prefix web --silent
