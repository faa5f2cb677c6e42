#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs parleyd with its embedded defaults
# (SQLite in ./var, http://127.0.0.1:8080). Extra arguments go to parleyd (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
exec ./build/src/app/parleyd "$@"
