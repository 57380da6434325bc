#!/usr/bin/env bash
# Installs the system dependencies (Debian 12) and builds liblispe_torch.so.
# Idempotent: installs only missing packages, rebuilds only what changed.
#   LISPE_DIR=/opt/lispe bash scripts/setup.sh   also builds the LispE adapter and its tests
#   TORCH_DIR=<...>/share/cmake/Torch            builds against another libtorch (2.x)
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="build-essential cmake pkg-config ccache libtorch-dev libsentencepiece-dev
      libjson-c-dev libpcre2-dev libopenblas-dev"
missing=()
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${BUILD_DIR:-build}
args=(-DCMAKE_BUILD_TYPE=Release)
# The LispE adapter and the .lisp tests are built when LISPE_DIR names a LispE
# built by hand (see DEVELOPERS.md); one under /opt/lispe is picked up by itself.
if [ -z "${LISPE_DIR+set}" ] && [ -x /opt/lispe/bin/lispe ] && [ -f /opt/lispe/include/lispe.h ] \
   && [ -f /opt/lispe/bin/liblispe.so ]; then
  LISPE_DIR=/opt/lispe
fi
[ -n "${LISPE_DIR:-}" ] && args+=(-DLISPE_DIR="$LISPE_DIR")
[ -n "${TORCH_DIR:-}" ] && args+=(-DTorch_DIR="$TORCH_DIR")
cmake -S . -B "$BUILD_DIR" "${args[@]}" ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j"$(nproc)"
