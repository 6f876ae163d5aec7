#!/bin/bash
# Start a private single-node SLURM (munged + slurmctld + slurmd) for tests and demos.
# Everything lives in $NUBOUND_SLURM_DIR; /etc/slurm is not touched. Needs root and the Debian
# packages slurm-wlm and munge. Recipe verified in notes/infrastructure.md section 3.
# Afterwards: export SLURM_CONF=$NUBOUND_SLURM_DIR/slurm.conf for sbatch/squeue/scancel.
# Stop with deploy/slurm/stop_slurm.sh (by PID, from the pid files written here).
set -euo pipefail
D=${NUBOUND_SLURM_DIR:?set NUBOUND_SLURM_DIR to an empty folder for state, spool and logs}
CPUS=${NUBOUND_SLURM_CPUS:-2}
MEM_MB=${NUBOUND_SLURM_MEMORY_MB:-8000}       # must stay <= the real memory, else the node drains
mkdir -p "$D/state" "$D/spool" "$D/log"
MUNGE_BASE=/run/munge/nubound-$(printf %s "$D" | md5sum | cut -c1-10)
MUNGE_SOCKET=$MUNGE_BASE.socket
cat > "$D/slurm.conf" <<CONF
ClusterName=nubound
SlurmctldHost=localhost
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$D/slurm.conf
# A munged of our own, on its own socket (AuthInfo above), so that two private SLURMs never share
# one. It runs as user munge, with log/pid files it owns (a root-owned system log makes it exit),
# in /run/munge, since $D may sit in a folder user munge cannot enter.
mkdir -p /run/munge && chown munge:munge /run/munge
runuser -u munge -- /usr/sbin/munged --socket="$MUNGE_SOCKET" --log-file="$MUNGE_BASE.log" \
  --pid-file="$MUNGE_BASE.pid" --seed-file="$MUNGE_BASE.seed"
echo "$MUNGE_BASE" > "$D/munged.base"       # stop_slurm.sh stops this munged, by PID
munge -S "$MUNGE_SOCKET" -n | unmunge -S "$MUNGE_SOCKET" | grep -q 'STATUS:.*Success'
slurmctld -f "$D/slurm.conf"                  # daemonizes; pid in $D/slurmctld.pid
slurmd -f "$D/slurm.conf" -N localhost        # node name independent of the hostname
for _ in $(seq 1 60); do
  sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
  sleep 0.5
done
if ! sinfo -h -N -o '%T' | grep -qE '^(idle|mixed|allocated)'; then
  echo "start_slurm.sh: the slurm node did not come up" >&2
  tail -n 20 "$D"/log/*.log >&2
  exit 1
fi
echo "SLURM_CONF=$D/slurm.conf"
