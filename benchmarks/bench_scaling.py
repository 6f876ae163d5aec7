"""Strong scaling and threads versus processes: one real-physics scan on 1 and 2 cores.

Run: ``.venv/bin/python -m pytest benchmarks/bench_scaling.py --benchmark-only -s``
(on an otherwise idle machine: every figure is a wall time).

The scan: the universal light vector mediator, Dresden-II (three quenching choices), COHERENT
CsI and Ar, 100 masses × 1024 couplings = 102 400 points in 50 blocks of 2 × 1024
(``NUBOUND_BENCH_SCALING_MASSES=400``: four times as many;
``NUBOUND_BENCH_SCALING_CHUNK_MASSES=4``: blocks of 4 × 1024). It runs
three times, each on a fresh store and a fresh LocalCluster of worker processes:

- ``1x1``: one worker process with one thread (the reference for the speed-up);
- ``2x1``: two worker processes with one thread each;
- ``1x2``: one worker process with two threads. The compiled kernels release the GIL, so on
  two cores this should match ``2x1`` (within 15 %); with the GIL held it would match ``1x1``.

Each cluster is what ``nubound scan`` starts (:func:`nubound.jobs.clusters.local_cluster`): its
workers import the physics and load the compiled kernels while they start, before they join
(``cluster_start_s``, reported apart). Reported: points/s of each, the speed-up ``2x1 / 1x1``
(ideal 2), ``1x2 / 2x1``, and the share of wall time outside physics evaluation,
``1 − Σ evaluate / (wall × threads)``, where wall starts when the scan starts (it includes the
client's preparation, the submission, each process's reading of the data, the writes and the
tail of the last blocks), with its parts.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import pytest

from nubound.jobs.clusters import local_cluster
from nubound.scanner.run import run_scan
from nubound.scanner.spec import parse_spec
from tests.real_specs import vector_universal_reference

N_MASS = int(os.environ.get("NUBOUND_BENCH_SCALING_MASSES", "100"))  # 100: 1.02e5 points
# masses per block (× 1024 couplings): 2 → ≈ 0.2 s blocks; 4 halves the per-block share
CHUNK_MASSES = int(os.environ.get("NUBOUND_BENCH_SCALING_CHUNK_MASSES", "2"))
LAYOUTS = {"1x1": (1, 1), "2x1": (2, 1), "1x2": (1, 2)}
_results: dict[str, dict] = {}


@pytest.fixture(scope="module", autouse=True)
def compiled():
    """Compile (or load) the kernels before the first timed scan, not inside it."""
    from nubound.physics.compiled import compile_kernels

    compile_kernels()


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_scan_scaling(benchmark, tmp_path, layout, compiled):
    from distributed import Client

    workers, threads = LAYOUTS[layout]
    spec = parse_spec(vector_universal_reference(str(tmp_path / "s.zarr"), n_mass=N_MASS,
                                                 n_coupling=1024,
                                                 chunks=(CHUNK_MASSES, 1024)))
    assert spec.shape[0] * spec.shape[1] >= 100_000
    t0 = time.perf_counter()
    with local_cluster(workers, threads_per_worker=threads) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(workers)
        start_s = time.perf_counter() - t0
        result = benchmark.pedantic(
            lambda: run_scan(spec, client, url=str(tmp_path / "s.zarr"), progress=None,
                             threads_max=workers * threads), rounds=1, iterations=1)
    assert result.blocks_computed == result.blocks_total
    rate = result.points_computed / result.wall_s
    thread_s = result.wall_s * workers * threads
    reports = [r for r in result.reports if not r.skipped]
    _results[layout] = {
        "points_per_s": round(rate), "wall_s": round(result.wall_s, 2),
        "outside_physics": round(1 - result.evaluate_s / thread_s, 4),
        # the parts of it: reading the data (first block of each process), writing the
        # blocks, the rest of the tasks (done check, Dask) and the gaps between tasks
        "load_share": round(result.load_s / thread_s, 4),
        "write_share": round(result.write_s / thread_s, 4),
        "task_other_share": round((result.task_s - result.evaluate_s - result.write_s
                                   - result.load_s) / thread_s, 4),
        "idle_share": round(1 - result.task_s / thread_s, 4),
        "block_evaluate_s_median": round(statistics.median(r.evaluate_s for r in reports), 4),
        "cluster_start_s": round(start_s, 2),  # before the scan: workers preload the physics
        "block_s_estimate": round(result.block_s_estimate or 0, 3)}
    benchmark.extra_info.update(_results[layout])
    print(f"\n{layout} (workers x threads): {_results[layout]}", file=sys.stderr)
    if len(_results) == len(LAYOUTS):
        r = {k: v["points_per_s"] for k, v in _results.items()}
        summary = {"speedup_2x1_over_1x1": round(r["2x1"] / r["1x1"], 3),
                   "ratio_1x2_over_2x1": round(r["1x2"] / r["2x1"], 3)}
        benchmark.extra_info.update(summary)
        print(f"scaling: {summary}", file=sys.stderr)
