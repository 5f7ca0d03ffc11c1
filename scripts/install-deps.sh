#!/bin/bash
# Installs every Debian package scan needs to build, test and run (chromium: the report test renders the page
# headless). Idempotent and quiet.
set -euo pipefail
# libopenmpi-dev and openmpi-bin: data-parallel training under mpirun (optional: CMake builds without them).
# clang builds the fuzz targets: libclang-rt-14-dev holds its libFuzzer and sanitizer
# runtimes (libclang_rt.fuzzer-x86_64.a), libomp-14-dev the OpenMP runtime that
# clang's -fopenmp links (gcc's libgomp comes with build-essential).
packages=(build-essential cmake pkg-config clang libclang-rt-14-dev libomp-14-dev
  libdnnl-dev libvlfeat-dev libcairo2-dev libpng-dev libjpeg-dev zlib1g-dev libcjson-dev libyaml-dev
  dataset-fashion-mnist chromium libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
