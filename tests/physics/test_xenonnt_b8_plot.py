"""The XENONnT ⁸B projection plot (jobs/plot_xenonnt_b8.py) writes a non-trivial PNG, and its
fitted components add up to the fitted expectation."""

from __future__ import annotations

import numpy as np
import pytest


def test_plot_writes_png(tmp_path):
    import matplotlib.image

    from nubound.jobs.plot_xenonnt_b8 import plot_xenonnt_b8

    out = plot_xenonnt_b8(tmp_path / "xenonnt_b8.png", runs=("sr0", "sr1"))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(out)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 1000
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50


def test_fitted_components_sum_to_the_fit():
    from nubound.physics.experiments import get_experiment

    exp = get_experiment("xenonnt_b8", runs=("sr0", "sr1"))
    parts = exp.fitted_components()
    total = sum(parts.values())
    # extended likelihood at its minimum with free normalisation: Σ μ ≈ Σ n (pulls aside)
    assert total.sum() == pytest.approx(exp.observed.sum(), rel=0.02)
    assert parts["8B CEvNS"].sum() == pytest.approx(
        exp.flux_fit()["strength_best_fit"] * exp.nominal(exp.sm_signal()).sum(), rel=0.1)
