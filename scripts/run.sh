#!/usr/bin/env bash
# Quick start 1: install what is missing, build vodsim (release) and run the default scenario.
# Extra arguments are passed to `vodsim`, replacing the default command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product vodsim
if [ $# -gt 0 ]; then
    exec .build/release/vodsim "$@"
fi
# The default scenario, Scenarios/smoke.yaml; its report goes to Reports/smoke/.
exec .build/release/vodsim run
