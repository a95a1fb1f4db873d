#!/usr/bin/env bash
# Quick start 2: install what is missing, build and run every test, then the regression gate
# (baseline scenarios byte-identical run to run and within tolerance of Reports/baselines/).
# CI runs exactly this. Arguments go to `swift test` (and skip the regression gate).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
# Debug (audits on, testable) but optimised: the tests run whole scenarios. The flag is given here,
# not in Package.swift, which carries no unsafe flags (docs/architecture.md).
swift build --build-tests -Xswiftc -O
swift test --skip-build "$@"
if [ $# -eq 0 ]; then scripts/regression.sh; fi
