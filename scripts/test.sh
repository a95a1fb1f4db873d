#!/usr/bin/env bash
# Quick start 2: install what is missing, build and run every test, then the regression gate
# (baseline scenarios byte-identical run to run and within tolerance of Reports/baselines/).
# CI runs exactly this. Arguments go to `swift test` (and skip the regression gate).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
if [ $# -eq 0 ]; then scripts/regression.sh; fi
