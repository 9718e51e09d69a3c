#!/usr/bin/env bash
# README command 1: install, build, and run the main job on the bundled default data
# (the simulated shop). Outputs land in runs/default/ (report.html, shop.sqd, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/shopseq run --out runs/default "$@"
