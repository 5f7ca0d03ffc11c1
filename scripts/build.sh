#!/bin/bash
# Configures and builds scan into build/ (Release, warnings as errors).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSCAN_WERROR=ON >/dev/null
# Progress lines are dropped; with pipefail a failed build still fails this script.
cmake --build build -j"$(nproc)" 2>&1 | { grep -Ev '^\[ *[0-9]+%\] (Building|Linking|Built)' || true; }
test -x build/scan
