#!/usr/bin/env bash
# Installs what vodsim needs beyond Swift 6: the GNU Scientific Library (libgsl-dev), pkg-config,
# and xmllint (libxml2-utils), which the tests use to validate MPDs against the DASH schema; with
# --tests also Chromium, in which the tests render report.html headless.
# Idempotent: does nothing when all are present. Used by every other script and by .ci/run.
set -euo pipefail

if ! command -v swift >/dev/null 2>&1; then
    echo "error: Swift 6 is required (https://www.swift.org/install/linux/); 'swift' is not on PATH" >&2
    exit 1
fi

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
if [ "${1:-}" = "--tests" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    missing+=(chromium)
fi
if ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists gsl; } && [ ! -f /usr/include/gsl/gsl_rng.h ]; then
    missing+=(libgsl-dev)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        echo "error: need root (or sudo) to install ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
