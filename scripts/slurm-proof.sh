#!/usr/bin/env bash
# Proves `vodsim sweep --emit-jobs` on a real scheduler: starts a single-node Slurm on this machine
# (Debian's slurm-wlm with munge; slurmctld and slurmd on localhost), submits the emitted array job,
# waits, collects, and checks that the summaries equal a local sweep's byte for byte.
# Needs root (it installs slurm-wlm and munge if missing, and writes /etc/slurm/slurm.conf).
# `make slurm-proof`; docs/sweeps.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
swift build --product vodsim -Xswiftc -O >/dev/null  # the tests' build (scripts/test.sh)
vodsim="$PWD/.build/debug/vodsim"
work=$(mktemp -d /tmp/vodsim-slurm.XXXXXX)
chmod 755 "$work"
cleanup() {
  scancel --user=root >/dev/null 2>&1 || true
  pkill -x slurmd >/dev/null 2>&1 || true
  pkill -x slurmctld >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# munge: a key and the daemon.
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge
pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged

# Slurm: one node, this machine, every core.
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=vodsim
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
NodeName=localhost CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
pkill -x slurmd >/dev/null 2>&1 || true
pkill -x slurmctld >/dev/null 2>&1 || true
sleep 1
slurmctld -c -i
slurmd -c
for _ in $(seq 1 30); do
  sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
  sleep 1
done
scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
sinfo

sweep=(sweep Scenarios/storage-sweep.yaml --vary 'pops[edge].storage=1,2,4,8 TB' --replications 2
       --set 'duration=20 min' --quiet)
"$vodsim" "${sweep[@]}" --out "$work/local"
"$vodsim" "${sweep[@]}" --emit-jobs "$work/cluster"
echo "submitting $(wc -l < "$work/cluster/jobs.txt") array tasks"
sbatch --wait "$work/cluster/slurm.sh"
"$vodsim" sweep collect "$work/cluster" >/dev/null
status=0
for f in sweep.csv sweep.md sweep.html sweep.json; do
  if cmp -s "$work/local/$f" "$work/cluster/$f"; then echo "same: $f"; else echo "DIFFERENT: $f"; status=1; fi
done
[ $status -eq 0 ] && echo "slurm proof: the scheduler's sweep equals the local one byte for byte"
exit $status
