#!/usr/bin/env bash
# Quick start 2: install what is missing, build and run every test. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
