#!/usr/bin/env bash
# CI's regression gate: runs each baseline scenario twice (the reports must be byte-identical) and
# compares the report with its baseline in Reports/baselines/ (`vodsim compare`: exit 1 on a
# regression beyond tolerance). `scripts/regression.sh --update` rewrites the baselines from fresh
# runs, deliberately (commit them with the change that moved them).
set -euo pipefail
cd "$(dirname "$0")/.."
vodsim=".build/debug/vodsim"
swift build --product vodsim -Xswiftc -O >/dev/null  # the tests' build (scripts/test.sh)
scenarios=(Scenarios/smoke.yaml Scenarios/faults/pop-outage.yaml Scenarios/faults/origin-outage.yaml
           Scenarios/faults/release-surge.yaml Scenarios/faults/ingest-outage.yaml Scenarios/faults/cache-flush.yaml
           Scenarios/faults/retry-storm.yaml)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for scenario in "${scenarios[@]}"; do
  name=$(basename "$scenario" .yaml)
  "$vodsim" run "$scenario" --out "$work/$name.a" --quiet
  "$vodsim" run "$scenario" --out "$work/$name.b" --quiet
  if ! diff -r "$work/$name.a" "$work/$name.b" >/dev/null; then
    echo "regression: $name: two runs of the same scenario and seed gave different report folders:" >&2
    diff -rq "$work/$name.a" "$work/$name.b" >&2 || true
    status=1
    continue
  fi
  baseline="Reports/baselines/$name/report.json"
  if [ "${1:-}" = "--update" ]; then
    "$vodsim" compare "$work/$name.a" "$baseline" --update
  elif [ ! -f "$baseline" ]; then
    echo "regression: $name: no baseline $baseline (scripts/regression.sh --update writes it)" >&2
    status=1
  else
    echo "== $name"
    "$vodsim" compare "$work/$name.a" "$baseline" || status=1
  fi
done
exit $status
