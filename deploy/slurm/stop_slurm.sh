#!/bin/bash
# Stop the private SLURM started by start_slurm.sh: cancel its jobs, then end the daemons by PID.
# munged is the private one start_slurm.sh started (its pid file path is in $NUBOUND_SLURM_DIR).
D=${NUBOUND_SLURM_DIR:?set NUBOUND_SLURM_DIR to the folder given to start_slurm.sh}
export SLURM_CONF=$D/slurm.conf
scancel --user="$(id -un)" 2>/dev/null || true
munge_base=$(cat "$D/munged.base" 2>/dev/null || true)
for f in "$D/slurmd.pid" "$D/slurmctld.pid" ${munge_base:+"$munge_base.pid"}; do
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
done
[ -n "$munge_base" ] && rm -f "$munge_base".log "$munge_base".seed
exit 0
