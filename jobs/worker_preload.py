"""Worker preload: ``dask worker --preload nubound.jobs.worker_preload``.

A worker process that runs nubound blocks first imports the physics (SciPy, the experiments and
models) and Zarr, and loads numba's compiled kernels from their on-disk cache
(:func:`nubound.physics.compiled.compile_kernels`). Done on a block, that costs a second or
more per worker process (docs/design.md#submission); done here, it happens while the worker
starts, in parallel with the driver's own preparation (spec, store, lease), so a worker joins
ready to evaluate. The data of the spec's experiments are still read by the first block each
process runs (which experiments a scan uses is known only then), and timed apart from the
physics (``BlockReport.load_s``).

Clusters made by nubound (:func:`nubound.jobs.clusters.local_cluster`,
:func:`nubound.jobs.clusters.make_cluster`) pass it to every worker; LocalCluster takes it as
``preload=[MODULE]``, dask-jobqueue as ``worker_extra_args=["--preload", MODULE]``.
"""

from __future__ import annotations

import logging
import time

MODULE = __name__
log = logging.getLogger(__name__)


def warm_worker_process() -> float:
    """Import the physics and load the compiled kernels; return the seconds it took."""
    start = time.perf_counter()
    from nubound.physics.compiled import compile_kernels
    from nubound.physics.experiments import EXPERIMENTS
    from nubound.scanner.catalogue import default_registry

    registry = default_registry()
    for name in EXPERIMENTS:  # import each experiment's modules; no data is read
        registry.experiment_class(name)
    import zarr  # noqa: F401 - a block's first write opens the store with it

    import nubound.scanner.run  # noqa: F401 - what a block task unpickles

    compile_kernels()
    return time.perf_counter() - start


def dask_setup(worker) -> None:
    """Called by distributed when a worker starts, before it takes tasks."""
    seconds = warm_worker_process()
    log.info("nubound worker %s: physics imported and kernels loaded in %.2f s",
             getattr(worker, "address", "?"), seconds)
