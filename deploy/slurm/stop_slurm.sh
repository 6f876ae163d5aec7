#!/bin/bash
# Stop the private SLURM started by start_slurm.sh: cancel its jobs, then end the daemons by PID.
# munged is stopped only if start_slurm.sh started it (its pid file is in $NUBOUND_SLURM_DIR).
D=${NUBOUND_SLURM_DIR:?set NUBOUND_SLURM_DIR to the folder given to start_slurm.sh}
export SLURM_CONF=$D/slurm.conf
scancel --user="$(id -un)" 2>/dev/null || true
munged_pid=$(cat "$D/munged.pidpath" 2>/dev/null || true)
for f in "$D/slurmd.pid" "$D/slurmctld.pid" ${munged_pid:+"$munged_pid"}; do
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
done
exit 0
