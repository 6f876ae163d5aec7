"""Fast factorized path == straightforward reference, on random points of every model.

Truth: ``bsm_reference.reference_counts`` — direct Eν quadrature of flux × explicit BSM
dσ/dT (physics/cross_sections/bsm_*.py) for one point, with the spectra from the flux modules;
it shares only the recoil grid, the response and the form factor with the fast path.
Requirement: agreement better than 1e-3 relative in the expected counts.
"""

from __future__ import annotations

import bsm_reference as ref
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nubound.physics.experiments import get_experiment
from nubound.physics.models import MODELS, get_model

EXPERIMENTS = ("synthetic", "dresden_ii", "coherent_csi", "coherent_ar")


def experiment(name: str):
    if name == "synthetic":
        return _synthetic()
    return get_experiment(name)


_SYNTH: list = []


def _synthetic():
    if not _SYNTH:
        _SYNTH.append(ref.SyntheticExperiment())
    return _SYNTH[0]


def log_uniform(lo: float, hi: float):
    return st.floats(np.log10(lo), np.log10(hi)).map(lambda x: 10.0**x)


@st.composite
def model_points(draw):
    """A model and a random point whose BSM effect ranges from negligible to dominant."""
    name = draw(st.sampled_from(sorted(MODELS)))
    model = MODELS[name]
    params: dict = {}
    if name == "nsi":
        for p in model.parameter_names:
            params[p] = draw(st.floats(-1.0, 1.0))
    elif name == "magnetic_moment":
        params = {"mu_e": draw(log_uniform(1e-12, 1e-8)), "mu_mu": draw(log_uniform(1e-12, 1e-8))}
    else:
        params = {"coupling": draw(log_uniform(1e-7, 1e-3)),
                  "mass_MeV": draw(log_uniform(1e-2, 1e4))}
        if model.options:
            params["interference"] = draw(st.sampled_from(["standard", "flipped"]))
    return name, params


def assert_counts_close(fast, truth, rtol=1e-3):
    floor = 1e-9 * np.max(np.abs(truth))  # bins that cancel to ~0 under destructive interference
    bad = np.abs(fast - truth) > rtol * np.abs(truth) + floor
    assert not bad.any(), (
        f"fast/reference mismatch in {bad.sum()} bins, worst relative "
        f"{np.max(np.abs(fast - truth) / (np.abs(truth) + floor)):.2e}"
    )


@pytest.mark.parametrize("experiment_name", EXPERIMENTS)
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(point=model_points())
def test_fast_path_equals_reference(experiment_name, point):
    exp = experiment(experiment_name)
    name, params = point
    quenching = exp.quenching_choices[-1] if experiment_name == "synthetic" else None
    fast = get_model(name).signal_counts(exp, quenching, params)
    truth = ref.reference_counts(exp, quenching, name, params)
    assert_counts_close(fast, truth)


@pytest.mark.parametrize("experiment_name", EXPERIMENTS)
def test_every_model_matches_moment_projection(experiment_name):
    # second, cheap reference: each explicit dσ/dT projected on (1, 1/Eν, 1/Eν²) — exact
    # algebra check of every template, to rounding
    exp = experiment(experiment_name)
    for name, model in MODELS.items():
        params = ({p: 0.1 * (i + 1) * (-1) ** i for i, p in enumerate(model.parameter_names)}
                  if name == "nsi" else {"mu_e": 2e-10, "mu_mu": 5e-10}
                  if name == "magnetic_moment" else {"coupling": 3e-5, "mass_MeV": 7.0})
        fast = model.signal_counts(exp, None, params)
        truth = ref.moment_projection_counts(exp, exp.default_quenching, name, params)
        assert_counts_close(fast, truth, rtol=1e-10)
