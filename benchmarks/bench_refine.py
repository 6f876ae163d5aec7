"""Time to limits: an adaptively refined scan against the uniform grid of the same precision.

Run: ``.venv/bin/python -m pytest benchmarks/bench_refine.py --benchmark-only -s``

For each mediator config ``configs/paper_*.toml`` (refined along the coupling, docs/
refinement.md) the refined scan and the uniform scan whose coupling grid is the refined one's
finest grid ((n − 1)·2^levels + 1 couplings: the same precision, < 1e-3 relative for these
configs) run on the same 2-worker LocalCluster in the same process. Reported: wall time and
points of both, their ratios, and the largest difference of the 90 % CL limits and allowed
interval edges (global and per-mass reference, each experiment and combined) in units of the
uniform grid's step. ``NUBOUND_BENCH_MASS_STRIDE=k`` keeps every k-th mass (default 4: the
uniform grids of all five configs take ≈ 40 min on 2 cores otherwise).
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nubound.scanner.run import run_scan
from nubound.scanner.spec import AxisSpec, load_spec
from nubound.storage.levels import finest_dataset, level_axis_values
from nubound.storage.limits import available_experiments, coupling_limits
from nubound.storage.store import open_store

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p.name for p in (ROOT / "configs").glob("paper_*.toml")
                 if "mass_MeV" in p.read_text() and "[refine]" in p.read_text())
STRIDE = int(os.environ.get("NUBOUND_BENCH_MASS_STRIDE", "4"))


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


def _masses(spec):
    axes = [replace(a, scale="values", values=a.values[::STRIDE]) if a.name == "mass_MeV" else a
            for a in spec.axes]
    chunks = tuple(min(c, a.size) for c, a in zip(spec.chunks, axes, strict=True))
    return replace(spec, axes=tuple(axes), chunks=chunks)


def _uniform(spec):
    """The same scan without refinement, its coupling grid the refined one's finest grid."""
    axes = []
    for a in spec.axes:
        if a.name in spec.refine.axes:
            a = AxisSpec(a.name, a.unit, "values",
                         tuple(level_axis_values(a.values, a.scale, spec.refine.levels)))
        axes.append(a)
    chunks = tuple(min(4096, a.size) if a.name in spec.refine.axes else c
                   for a, c in zip(axes, spec.chunks, strict=True))
    return replace(spec, axes=tuple(axes), chunks=chunks, refine=None)


def _largest_difference(refined_url: str, uniform_url: str) -> tuple[float, bool]:
    fine, ref = finest_dataset(refined_url), open_store(uniform_url)
    step = float(np.log(ref.coupling.values[1] / ref.coupling.values[0]))
    worst, bands = 0.0, True
    for reference in ("global", "per_mass"):
        for experiments in [None] + [[e] for e in available_experiments(ref)]:
            a = coupling_limits(fine, experiments=experiments, reference=reference)
            b = coupling_limits(ref, experiments=experiments, reference=reference)
            bands &= bool(np.array_equal(a.n_allowed_intervals, b.n_allowed_intervals))
            for name in ("coupling_upper", "allowed_lower", "allowed_upper"):
                x, y = a[name].values, b[name].values
                ok = np.isfinite(x) & np.isfinite(y)
                if ok.any():
                    worst = max(worst, float(np.max(np.abs(np.log(x[ok] / y[ok])))) / step)
    return worst, bands


@pytest.mark.parametrize("config", CONFIGS)
def test_time_to_limits(benchmark, client, config, tmp_path):
    spec = _masses(load_spec(ROOT / "configs" / config))
    uniform = _uniform(spec)
    refined_url, uniform_url = str(tmp_path / "refined.zarr"), str(tmp_path / "uniform.zarr")
    t0 = time.perf_counter()
    uni = run_scan(uniform, client, url=uniform_url, threads_max=2, progress=None)
    uniform_s = time.perf_counter() - t0

    def refined():
        return run_scan(spec, client, url=refined_url, threads_max=2, progress=None)

    ref = benchmark.pedantic(refined, rounds=1, iterations=1)
    refined_s = benchmark.stats.stats.min
    worst, bands = _largest_difference(refined_url, uniform_url)
    finest = float(np.exp(np.log(uniform.axes[1].values[1] / uniform.axes[1].values[0]))) - 1
    benchmark.extra_info.update({
        "masses": spec.axes[0].size, "relative_precision": finest,
        "refined_points": ref.points_computed, "uniform_points": uni.points_computed,
        "refined_s": refined_s, "uniform_s": uniform_s,
        "speedup": uniform_s / refined_s, "largest_difference_steps": worst,
        "same_bands": bands})
    print(f"\n{config}: {spec.axes[0].size} masses, precision {finest:.1e}: refined "
          f"{ref.points_computed} points {refined_s:.1f} s, uniform {uni.points_computed} "
          f"points {uniform_s:.1f} s, speed-up {uniform_s / refined_s:.1f}, largest "
          f"difference {worst:.2f} uniform steps, same bands: {bands}")
    assert bands and worst <= 1.0
