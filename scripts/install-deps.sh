#!/usr/bin/env bash
# Installs the Debian 12 packages Parley needs to build, run and test. Idempotent: does nothing
# (and needs no network) when everything is already installed. Run as root (or with sudo).
set -euo pipefail

PACKAGES=(
  # build
  g++ make cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-url1.81-dev libsqlite3-dev libsodium-dev libssl-dev
  libsimdjson-dev libspdlog-dev libfmt-dev libtoml11-dev libcli11-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # PostgreSQL engine (libpq) and the server the tests start (postgresql)
  libpq-dev postgresql
  # cluster mode: the bus between nodes (NATS, libnats) and presence/limits (Redis, hiredis)
  libnats-dev nats-server libhiredis-dev redis-server redis-tools
  # password strength (zxcvbn) and display-name checks (ICU: normalization, confusables)
  libzxcvbn-dev libicu-dev
  # media: content types from the bytes (libmagic, linked); thumbnails and image sizes by
  # libvips' command-line tools, run as child processes and never linked (GPL dependencies:
  # docs/architecture.md, "Media")
  libmagic-dev libvips-tools
  # push notifications: HTTP/1.1 and HTTP/2 requests to push services and webhooks (libcurl)
  libcurl4-openssl-dev
  # tests (openssl makes test certificates; haproxy is the reverse proxy of docs/operations.md)
  python3 python3-pytest python3-websocket python3-requests curl procps openssl haproxy
  # latency plots of parley-bench (--plot)
  gnuplot-nox
  # browser tests of the web client (tests/browser): Debian's Chromium, driven by playwright-core
  chromium fonts-liberation fonts-noto-color-emoji
)
# Node.js and npm build the web client. The machines come with Node 20; Debian's packages are
# taken only where there is no `node` at all (never replacing one that is there).
if ! command -v node >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then exit 0; fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
