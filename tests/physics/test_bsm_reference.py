"""Checks of the reference BSM predictions (tests/physics/bsm_reference.py) on themselves:
the direct Eν quadrature reproduces the SM moment rates, and its two forms agree on a BSM point."""

import numpy as np
import pytest
from bsm_reference import (
    SyntheticExperiment,
    moment_projection_counts,
    reference_counts,
    vectorised_counts,
)

from nubound.physics.rates import sm_rates


@pytest.fixture(scope="module")
def synthetic() -> SyntheticExperiment:
    return SyntheticExperiment()


@pytest.mark.parametrize("quenching", ["low", "high"])
def test_reference_sm_matches_moment_rates(synthetic, quenching):
    # direct Eν quadrature of the SM cross sections == physics.rates from the grid moments
    ref = reference_counts(synthetic, quenching, "nsi", {})
    sm = synthetic.expected_counts(sm_rates(synthetic.channels(quenching)), quenching)
    np.testing.assert_allclose(ref, sm, rtol=2e-5)


def test_two_references_agree_on_bsm_point(synthetic):
    params = {"coupling": 3e-5, "mass_MeV": 2.0}
    a = reference_counts(synthetic, "low", "vector_universal", params)
    b = moment_projection_counts(synthetic, "low", "vector_universal", params)
    np.testing.assert_allclose(a, b, rtol=2e-5)
    assert not np.allclose(a, synthetic.expected_counts(sm_rates(synthetic.channels())))


@pytest.mark.parametrize("name, points", [
    ("vector_universal", {"coupling": [1e-6, 3e-5, 1e-4], "mass_MeV": [0.5, 2.0, 50.0]}),
    ("scalar_universal", {"coupling": [1e-6, 3e-5, 1e-4], "mass_MeV": [0.5, 2.0, 50.0]}),
    ("magnetic_moment", {"mu_e": [0.0, 1e-10, 3e-9], "mu_mu": [1e-9, 0.0, 1e-10]}),
])
def test_vectorised_reference_equals_point_by_point(synthetic, name, points):
    # broadcasting over points (in chunks) gives each point its own one-point quadrature
    many = vectorised_counts(synthetic, "low", name, points, max_elements=1e3)  # small chunks
    one_by_one = [reference_counts(synthetic, "low", name, dict(zip(points, p, strict=True)))
                  for p in zip(*points.values(), strict=True)]
    np.testing.assert_allclose(many, one_by_one, rtol=1e-12)
    assert not np.allclose(many[0], many[2])
