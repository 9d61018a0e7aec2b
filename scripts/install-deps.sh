#!/usr/bin/env bash
# Installs the Debian 12 packages skein needs to build, test, benchmark and lint. This is the one
# list: the README's commands, scripts/test.sh, scripts/demo.sh and .ci/run all call this script.
# When everything is already installed it does nothing (no apt-get update), so repeated runs are
# fast. Add a package by appending a line to PACKAGES.
set -euo pipefail

PACKAGES=(
  build-essential
  cmake
  ninja-build
  pkg-config
  libgtest-dev
  libbenchmark-dev
  clang
  clang-format
  libclang-rt-14-dev
  libcurl4-openssl-dev
  zlib1g-dev
  libprotozero-dev
  libsqlite3-dev
  libsimdjson-dev
  libcli11-dev
  libfmt-dev
  libcpp-httplib-dev
  chromium
)

# Node.js and npm run the end-to-end tests; the machine image usually has them already.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: not root and no sudo; install these packages first: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
