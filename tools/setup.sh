#!/usr/bin/env bash
# Installs the Debian packages ctdl needs that are missing; does nothing when all are there.
# Safe to run again and again (the README's commands start with it).
set -euo pipefail

packages=(
  g++ cmake make pkg-config python3
  libtbb-dev libxsimd-dev xtl-dev       # CPU backend: threads and SIMD
  catch2                                # tests
  nlohmann-json3-dev zlib1g-dev         # configs, checkpoints, MNIST .gz
  libstb-dev                            # JPEG/PNG decoding for image datasets
  gnuplot-nox                           # ctdl plot
  libopenmpi-dev openmpi-bin            # data- and layer-parallel training
  libmimalloc-dev                       # a faster malloc for many small allocations
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
