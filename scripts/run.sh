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
# The default scenario. Until scenario files land (issue 3) this is the engine benchmark at a small
# size: 100k pending events, 2M events.
exec .build/release/vodsim bench engine --pending 100000 --events 2000000
