"""Time to limits: an adaptively refined scan against the uniform grid of the same precision.

Run: ``.venv/bin/python -m pytest benchmarks/bench_refine.py --benchmark-only -s``

For every config ``configs/paper_*.toml`` (refined as its ``[refine]`` says, docs/
refinement.md) the refined scan and the uniform scan whose refined axes are the refined one's
finest grid ((n − 1)·2^levels + 1 points: the same precision, ≤ 1e-3 relative for these
configs) run on the same 2-worker LocalCluster in the same process. Reported:
wall time and points of both, their ratios, and how far the answers differ:

- mediator configs (mass × coupling, the coupling refined): the largest difference of the
  90 % CL limits and allowed-interval edges (global and per-mass reference, each experiment
  and combined) in units of the uniform grid's step, and whether the allowed bands agree;
- one-parameter configs: the same for the allowed intervals of the parameter;
- 2-D contours (both axes refined): the uniform grid points classified differently (allowed
  or excluded at 90 % CL for 1 and 2 dof, each experiment and combined), and how many of them
  lie more than one uniform step from the uniform grid's boundary (must be none).

``NUBOUND_BENCH_MASS_STRIDE=k`` keeps every k-th mass (default 4: the uniform grids of all
mediator configs take ≈ 1 h on 2 cores otherwise); ``NUBOUND_BENCH_CONFIGS=a,b`` runs only
the configs whose names contain one of ``a``, ``b``.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from contour_check import classification_differences  # tests/scanner (conftest.py)

from nubound.scanner.run import run_scan
from nubound.scanner.spec import AxisSpec, load_spec
from nubound.storage.levels import finest_dataset, level_axis_values
from nubound.storage.limits import available_experiments, coupling_limits, parameter_intervals
from nubound.storage.store import open_store

ROOT = Path(__file__).resolve().parents[1]
_WANTED = [w for w in os.environ.get("NUBOUND_BENCH_CONFIGS", "").split(",") if w]
CONFIGS = sorted(p.name for p in (ROOT / "configs").glob("paper_*.toml")
                 if not _WANTED or any(w in p.name for w in _WANTED))
STRIDE = int(os.environ.get("NUBOUND_BENCH_MASS_STRIDE", "4"))
#: points per block of the uniform scans (their blocks are bigger than the refined scans')
UNIFORM_BLOCK_POINTS = 65536


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


def _load(config: str):
    """The config's spec, its masses thinned by ``STRIDE``."""
    spec = load_spec(ROOT / "configs" / config)
    if "mass_MeV" not in spec.axis_names:
        return spec
    axes = [replace(a, scale="values", values=a.values[::STRIDE]) if a.name == "mass_MeV" else a
            for a in spec.axes]
    chunks = tuple(min(c, a.size) for c, a in zip(spec.chunks, axes, strict=True))
    return replace(spec, axes=tuple(axes), chunks=chunks)


def _uniform(spec):
    """The same scan without refinement, its refined axes the refined one's finest grids."""
    axes = []
    for a in spec.axes:
        if a.name in spec.refine.axes:
            a = AxisSpec(a.name, a.unit, "values",
                         tuple(level_axis_values(a.values, a.scale, spec.refine.levels)))
        axes.append(a)
    chunks, room = list(spec.chunks), UNIFORM_BLOCK_POINTS
    for i in reversed(range(len(axes))):  # the last refined axis whole, then what fits
        if axes[i].name in spec.refine.axes:
            chunks[i] = max(1, min(axes[i].size, room))
            room = max(1, room // chunks[i])
    return replace(spec, axes=tuple(axes), chunks=tuple(chunks), refine=None)


def _relative_step(axis, values) -> float:
    """The finest step (``values``) of a refined axis: relative on log axes, over the range
    otherwise."""
    v = np.asarray(values, dtype=float)
    if axis.scale == "log":
        return float(v[1] / v[0]) - 1
    return float((v[1] - v[0]) / (v[-1] - v[0]))


def _log_steps(a, b, step):
    if a.shape != b.shape:  # allowed intervals: pad the shorter interval axis with NaN
        shape = np.maximum(a.shape, b.shape)
        a, b = (np.pad(x.astype(float), [(0, n - m) for n, m in zip(shape, x.shape, strict=True)],
                       constant_values=np.nan) for x in (a, b))
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(np.log(a[ok] / b[ok])))) / step if ok.any() else 0.0


def _mediator_difference(fine, ref) -> dict:
    step = float(np.log(ref.coupling.values[1] / ref.coupling.values[0]))
    worst, bands = 0.0, True
    for reference in ("global", "per_mass"):
        for experiments in [None] + [[e] for e in available_experiments(ref)]:
            a = coupling_limits(fine, experiments=experiments, reference=reference)
            b = coupling_limits(ref, experiments=experiments, reference=reference)
            bands &= bool(np.array_equal(a.n_allowed_intervals, b.n_allowed_intervals))
            for name in ("coupling_upper", "allowed_lower", "allowed_upper"):
                worst = max(worst, _log_steps(a[name].values, b[name].values, step))
    return {"largest_difference_steps": worst, "same_bands": bands}


def _interval_difference(fine, ref, axis: str) -> dict:
    x = ref[axis].values
    log = ref[axis].attrs.get("scale") == "log" or np.all(x > 0) and x[-1] / x[0] > 100
    step = float(np.log(x[-1] / x[-2])) if log else float(x[1] - x[0])
    worst, bands = 0.0, True
    for experiments in [None] + [[e] for e in available_experiments(ref)]:
        a = parameter_intervals(fine, experiments=experiments)
        b = parameter_intervals(ref, experiments=experiments)
        bands &= bool(np.array_equal(a.n_intervals, b.n_intervals))
        for name in ("lower", "upper"):
            u, v = a[name].values, b[name].values
            if log:
                worst = max(worst, _log_steps(u, v, step))
            else:
                ok = np.isfinite(u) & np.isfinite(v)
                worst = max(worst, float(np.max(np.abs(u[ok] - v[ok]), initial=0)) / step)
    return {"largest_difference_steps": worst, "same_bands": bands}


def compare(spec, refined_url: str, uniform_url: str) -> dict:
    """How the refined store's answers differ from the uniform store's (module docstring)."""
    fine, ref = finest_dataset(refined_url), open_store(uniform_url)
    if "mass_MeV" in spec.axis_names:
        return _mediator_difference(fine, ref)
    if len(spec.refine.axes) == 1:
        return _interval_difference(fine, ref, spec.refine.axes[0])
    return classification_differences(fine, ref)


@pytest.mark.parametrize("config", CONFIGS)
def test_time_to_limits(benchmark, client, config, tmp_path):
    spec = _load(config)
    uniform = _uniform(spec)
    refined_url, uniform_url = str(tmp_path / "refined.zarr"), str(tmp_path / "uniform.zarr")
    t0 = time.perf_counter()
    uni = run_scan(uniform, client, url=uniform_url, threads_max=2, progress=None)
    uniform_s = time.perf_counter() - t0

    def refined():
        return run_scan(spec, client, url=refined_url, threads_max=2, progress=None)

    ref = benchmark.pedantic(refined, rounds=1, iterations=1)
    refined_s = benchmark.stats.stats.min
    result = compare(spec, refined_url, uniform_url)
    precision = max(_relative_step(a, u.values) for a, u in zip(spec.axes, uniform.axes,
                                                                strict=True)
                    if a.name in spec.refine.axes)
    shape = "x".join(str(a.size) for a in spec.axes)
    benchmark.extra_info.update({
        "grid": shape, "levels": spec.refine.levels, "relative_precision": precision,
        "refined_points": ref.points_computed, "uniform_points": uni.points_computed,
        "points_fraction": ref.points_computed / uni.points_computed,
        "refined_s": refined_s, "uniform_s": uniform_s,
        "speedup": uniform_s / refined_s} | result)
    print(f"\n{config}: base {shape}, {spec.refine.levels} levels, precision {precision:.1e}: "
          f"refined {ref.points_computed} points {refined_s:.1f} s, uniform "
          f"{uni.points_computed} points {uniform_s:.1f} s (points "
          f"{100 * ref.points_computed / uni.points_computed:.1f} %, speed-up "
          f"{uniform_s / refined_s:.1f}); {result}", flush=True)
    if "beyond_one_step" in result:  # 2-D: every point alike or next to the dense boundary
        assert result["beyond_one_step"] == 0
    else:
        assert result["same_bands"] and result["largest_difference_steps"] <= 1.0
