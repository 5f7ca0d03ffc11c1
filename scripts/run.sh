#!/bin/bash
# Installs what is missing, builds, and runs the whole pipeline on Fashion-MNIST
# (the Debian package dataset-fashion-mnist). Extra arguments go to `scan run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
exec build/scan run "$@"
