#!/usr/bin/env bash
# README command 2: install, build, and run every test (unit tests with cmocka, CLI tests,
# the report's browser test) through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --timeout 900
