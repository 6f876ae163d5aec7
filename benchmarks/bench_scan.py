"""End-to-end scan throughput on a LocalCluster, and the share of time outside the physics.

Run: ``.venv/bin/python -m pytest benchmarks/bench_scan.py --benchmark-only -s``

- ``test_scan_fake_physics_1e6``: a 1000 × 1024 = 1.02e6-point scan at the default chunk size
  with the cheap fake model/experiment of tests/scanner/fake_physics.py (vector-like rescaling,
  Poisson χ² profiled by 6 batched Newton steps, one 3-choice quenching experiment + one
  without). Reference (same process): the whole grid evaluated serially by ``evaluate`` in
  blocks of the same size, no Dask, no Zarr. Reports points/s, the speed-up over the reference
  (ideal: the number of workers), and the overhead = 1 − Σ evaluate time / (wall × threads).
- ``test_scan_real_physics_quickstart``: the real models and experiments on
  configs/quickstart.toml (48 × 64 points, 3 experiments, 3 Dresden-II quenchings).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from nubound.scanner.evaluate import evaluate
from nubound.scanner.plan import plan_blocks
from nubound.scanner.run import run_scan
from nubound.scanner.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "scanner"))  # the fakes, importable by spawned workers
import fake_physics  # noqa: E402

N_WORKERS = 2
_DATA = ROOT.parent / "shared" / "data"
if "NUBOUND_DATA_DIR" not in os.environ and _DATA.is_dir():  # as tests/conftest.py
    os.environ["NUBOUND_DATA_DIR"] = str(_DATA)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=N_WORKERS, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


def _fake_spec(store: str):
    text = fake_physics.spec_text(store, n_mass=1000, n_coupling=1024)
    text = text.split("[chunks]")[0]  # the default chunk size
    return parse_spec(text, registry=fake_physics.FakeRegistry())


def _report(benchmark, result, serial_points_per_s: float | None, label: str) -> None:
    threads = N_WORKERS
    busy = result.evaluate_s / (result.wall_s * threads)
    in_task = 1 - result.evaluate_s / max(result.task_s, 1e-12)
    info = {
        "points": result.points_computed,
        "blocks": result.blocks_computed,
        "wall_s": round(result.wall_s, 2),
        "points_per_s": round(result.points_computed / result.wall_s),
        "overhead_fraction": round(1 - busy, 4),
        "overhead_inside_tasks": round(in_task, 4),
    }
    if serial_points_per_s:
        info["serial_points_per_s"] = round(serial_points_per_s)
        info["speedup_vs_serial"] = round(info["points_per_s"] / serial_points_per_s, 2)
    benchmark.extra_info.update(info)
    print(f"\n{label}: {info}", file=sys.stderr)


def test_scan_fake_physics_1e6(benchmark, client, tmp_path):
    registry = fake_physics.FakeRegistry()
    spec = _fake_spec(str(tmp_path / "ref-unused.zarr"))
    assert spec.shape[0] * spec.shape[1] >= 1_000_000
    blocks = list(plan_blocks(spec.shape, spec.chunks))
    t0 = time.perf_counter()
    for block in blocks[:8]:  # serial reference on a sample of blocks
        evaluate(spec, block, registry=registry)
    serial = sum(b.shape[0] * b.shape[1] for b in blocks[:8]) / (time.perf_counter() - t0)
    runs = iter(range(100))

    def scan():
        url = str(tmp_path / f"scan{next(runs)}.zarr")
        return run_scan(spec, client, url=url, registry=registry, progress=None)

    result = benchmark.pedantic(scan, rounds=1, iterations=1)
    assert result.points_computed == spec.shape[0] * spec.shape[1]
    _report(benchmark, result, serial, f"fake physics, chunks {spec.chunks}")


def test_scan_real_physics_quickstart(benchmark, client, tmp_path):
    spec = load_spec(ROOT / "configs" / "quickstart.toml")
    runs = iter(range(100))

    def scan():
        return run_scan(spec, client, url=str(tmp_path / f"q{next(runs)}.zarr"), progress=None)

    result = benchmark.pedantic(scan, rounds=1, iterations=1)
    assert result.blocks_computed == result.blocks_total
    _report(benchmark, result, None, f"real physics quickstart, chunks {spec.chunks}")
