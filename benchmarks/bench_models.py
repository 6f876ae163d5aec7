"""Grid points per second of the BSM models' fast path vs the straightforward reference.

Run (1 core: single-threaded BLAS; timings are the process' CPU time, robust on a busy host):
    OPENBLAS_NUM_THREADS=1 .venv/bin/python -m pytest benchmarks/bench_models.py \
        --benchmark-only --benchmark-columns=mean,rounds
Each benchmark evaluates one block of 50 masses × 200 couplings (10⁴ points) on the three
experiments (dresden_ii, coherent_csi, coherent_ar), with the mass-template cache cleared
before every round (each block of a scan brings new masses). ``extra_info`` holds
``points_per_s`` (all three experiments per point) and, measured in the same process, the
same figure for what a user would otherwise run: ``ratio_to_reference`` for
``tests/physics/bsm_reference.reference_counts`` (direct Eν quadrature of the explicit cross
sections, one point at a time) and ``ratio_to_vectorised_numpy`` for
``bsm_reference.vectorised_counts`` (the same quadrature, numpy-broadcast over a batch of
points × T × Eν).
"""

from __future__ import annotations

import time

import bsm_reference as ref
import numpy as np
import pytest

from nubound.physics.experiments import get_experiment
from nubound.physics.models import base, get_model

EXPERIMENTS = ("dresden_ii", "coherent_csi", "coherent_ar")
N_MASS, N_COUPLING = 50, 200


@pytest.fixture(scope="module")
def experiments():
    exps = [get_experiment(n) for n in EXPERIMENTS]
    for e in exps:
        e.channels()
    return exps


BLOCKS = {
    "vector_universal": {"mass_MeV": np.geomspace(1e-2, 1e4, N_MASS)[:, None],
                         "coupling": np.geomspace(1e-7, 1e-3, N_COUPLING)[None, :]},
    "scalar_universal": {"mass_MeV": np.geomspace(1e-2, 1e4, N_MASS)[:, None],
                         "coupling": np.geomspace(1e-7, 1e-3, N_COUPLING)[None, :]},
    "magnetic_moment": {"mu_e": np.geomspace(1e-12, 1e-8, N_MASS)[:, None],
                        "mu_mu": np.geomspace(1e-12, 1e-8, N_COUPLING)[None, :]},
    "nsi": {"eps_u_ee": np.linspace(-1, 1, N_MASS)[:, None],
            "eps_d_mumu": np.linspace(-1, 1, N_COUPLING)[None, :]},
}
ONE_POINT = {
    "vector_universal": {"mass_MeV": 10.0, "coupling": 1e-5},
    "scalar_universal": {"mass_MeV": 10.0, "coupling": 1e-5},
    "magnetic_moment": {"mu_e": 1e-10, "mu_mu": 1e-10},
    "nsi": {"eps_u_ee": 0.1, "eps_d_mumu": 0.1},
}


def _reference_points_per_s(experiments, name: str, n_points: int = 3) -> float:
    start = time.process_time()
    for _ in range(n_points):
        for e in experiments:
            ref.reference_counts(e, None, name, ONE_POINT[name])
    return n_points / (time.process_time() - start)


def _vectorised_points_per_s(experiments, name: str, n_points: int = 64) -> float:
    grids = np.broadcast_arrays(*BLOCKS[name].values())
    pick = np.linspace(0, grids[0].size - 1, n_points).astype(int)
    points = {k: g.ravel()[pick] for k, g in zip(BLOCKS[name], grids, strict=True)}
    start = time.process_time()
    for e in experiments:
        ref.vectorised_counts(e, None, name, points)
    return n_points / (time.process_time() - start)


@pytest.mark.benchmark(group="bsm-models", timer=time.process_time, warmup=True)
@pytest.mark.parametrize("name", list(BLOCKS))
def test_fast_path_block(benchmark, experiments, name):
    model = get_model(name)
    params = BLOCKS[name]

    def block():
        base._mass_templates.cache_clear()
        return [model.signal_counts(e, None, params) for e in experiments]

    out = benchmark.pedantic(block, rounds=5, iterations=1, warmup_rounds=1)
    n_points = N_MASS * N_COUPLING
    assert out[0].shape == (N_MASS, N_COUPLING, experiments[0].n_bins)
    fast = n_points / benchmark.stats.stats.mean
    reference = _reference_points_per_s(experiments, name)
    vectorised = _vectorised_points_per_s(experiments, name)
    benchmark.extra_info.update({
        "points_per_s": fast,
        "reference_points_per_s": reference,
        "ratio_to_reference": fast / reference,
        "vectorised_numpy_points_per_s": vectorised,
        "ratio_to_vectorised_numpy": fast / vectorised,
        "experiments": ",".join(EXPERIMENTS),
    })
    print(f"\n{name}: fast {fast:.3g} points/s, reference one point at a time "
          f"{reference:.3g} points/s (ratio {fast / reference:.3g}), vectorised numpy "
          f"{vectorised:.3g} points/s (ratio {fast / vectorised:.3g})")
