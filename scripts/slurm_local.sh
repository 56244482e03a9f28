#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, for the tests of the slurm executor
# (tests/test_slurm.py): installs Debian's slurm-wlm and munge (apt-get, as root), writes a
# slurm.conf for this host and its CPUs with plugins that need neither cgroups nor systemd, starts
# munged, slurmctld and slurmd directly, and waits until `sinfo` shows the node idle.
#     sudo bash scripts/slurm_local.sh          # .ci/run calls it before `make test`
#     bash scripts/slurm_local.sh --stop        # stop the three daemons
# Idempotent: a running cluster is left as it is. `make test` never calls this (it installs system
# packages); without a cluster the SLURM tests skip with a one-line reason.
set -euo pipefail
if [ "${1:-}" = "--stop" ]; then
  pkill -x slurmd || true; pkill -x slurmctld || true; pkill -x munged || true
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "slurm_local: needs root (apt-get, the munge key, the daemons)" >&2
  exit 2
fi
if command -v sinfo >/dev/null 2>&1 && sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
  echo "slurm_local: a cluster is already up: $(sinfo -h -o '%N %t %c CPUs')"
  exit 0
fi
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q slurm-wlm munge >/dev/null; }
fi
host=$(hostname -s)
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))  # MB, 80% of the machine
# munge: a key, its folders owned by the munge user, the daemon run as that user
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 0700 /etc/munge /var/lib/munge /var/log/munge && chmod 0400 /etc/munge/munge.key && chmod 0755 /run/munge
pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged
# slurm: one node, this host, every CPU, no cgroups, no accounting
conf=/etc/slurm/slurm.conf
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > "$conf" <<CONF
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
KillWait=5
MinJobAge=300
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 60); do
  if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
    echo "slurm_local: up: $(sinfo -h -o '%P %N %t %c CPUs')"
    exit 0
  fi
  sleep 1
done
echo "slurm_local: the node did not come up idle in 60 s; logs: /var/log/slurm/" >&2
sinfo >&2 || true
exit 1
