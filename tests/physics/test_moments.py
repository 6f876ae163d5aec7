"""Flux moments M_k(T) = ∫_{Emin} φ(E) E^{-k} dE against closed-form integrals."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nubound.physics import units
from nubound.physics.fluxes.moments import line_flux_moments, tabulated_flux_moments

MMU = units.muon_mass_MeV
EMAX = MMU / 2


def michel_nue(e):
    """Delayed νe spectrum (192/m)(E/m)²(1/2 − E/m), unit integral on [0, m/2]
    (docs/physics.md#pion-decay-at-rest)."""
    return np.where(e <= EMAX, 192 / MMU * (e / MMU) ** 2 * (0.5 - e / MMU), 0.0)


def michel_nue_moments(emin):
    """Closed form ∫_{emin}^{m/2} φ E^{-k} dE for k = 0, 1, 2 (φ is a cubic polynomial)."""
    c = 192 / MMU**3
    antider = (
        lambda e: c * (e**3 / 6 - e**4 / (4 * MMU)),
        lambda e: c * (e**2 / 4 - e**3 / (3 * MMU)),
        lambda e: c * (e / 2 - e**2 / (2 * MMU)),
    )
    lo = np.clip(emin, 0, EMAX)
    return np.array([f(EMAX) - f(lo) for f in antider])


def test_michel_moments_closed_form():
    # grid from h > 0 (see test_grid_starting_at_zero_energy for E = 0): below the grid the
    # moments are the integrals from e[0]
    e = np.linspace(EMAX / 4000, EMAX, 4000)
    emin = np.array([0.0, 1e-3, 3.7, 10.0, 26.39, 52.0, EMAX, 60.0])
    got = tabulated_flux_moments(e, michel_nue(e), emin)
    exact = michel_nue_moments(np.maximum(emin, e[0]))
    assert got.shape == (3, emin.size)
    # trapezoid error O(h²) with h = 0.013 MeV: relative to the full integral ≤ 2e-6
    scale = exact[:, :1]
    assert np.all(np.abs(got - exact) <= 2e-6 * scale)
    # normalisation and ⟨1/E⟩ = c (m²/16 − m²/24) = 4/m (from the closed form at emin = 0)
    assert michel_nue_moments(0.0)[0] == pytest.approx(1.0, rel=1e-14, abs=0)
    assert got[0, 0] == pytest.approx(1.0, rel=1e-6, abs=0)
    assert got[1, 0] == pytest.approx(4.0 / MMU, rel=1e-5, abs=0)


def test_grid_starting_at_zero_energy():
    # Michel spectra start at E = 0 where φ E^{-k} → 0 (φ ∝ E²); the moments must stay finite
    # and warning-free (pytest turns RuntimeWarnings into errors).
    e = np.linspace(0.0, EMAX, 4001)
    got = tabulated_flux_moments(e, michel_nue(e), np.array([0.0, 10.0]))
    exact = michel_nue_moments(np.array([0.0, 10.0]))
    assert np.all(np.isfinite(got))
    assert np.all(np.abs(got - exact) <= 1e-6 * exact[:, :1])


def test_limits_outside_grid():
    e = np.linspace(5.0, 50.0, 200)
    phi = np.ones_like(e)
    out = tabulated_flux_moments(e, phi, np.array([0.0, 5.0, 50.0, 51.0]))
    # below the grid: the full integral; at/above the last node: zero
    assert out[0] == pytest.approx([45.0, 45.0, 0.0, 0.0], rel=1e-12, abs=1e-12)
    # ∫ dE/E and ∫ dE/E²; trapezoid error h²/12 [f'] with h = 0.23 MeV: ≈ 4e-4 relative
    assert out[1, 0] == pytest.approx(np.log(10.0), rel=1e-3, abs=0)
    assert out[2, 0] == pytest.approx(1 / 5 - 1 / 50, rel=1e-3, abs=0)


def test_exact_for_piecewise_linear_spectrum():
    # k = 0 with a piecewise-linear φ is integrated exactly, also from a point between nodes
    e = np.array([1.0, 2.0, 4.0, 7.0])
    phi = np.array([0.0, 2.0, 1.0, 0.0])
    emin = np.array([1.5, 3.0, 6.5])
    got = tabulated_flux_moments(e, phi, emin)[0]
    # areas by hand: [1,2]: 1, [2,4]: 3, [4,7]: 1.5; φ(1.5) = 1, φ(3) = 1.5, φ(6.5) = 1/6
    expected = [0.5 * (1 + 2) * 0.5 + 3 + 1.5, 0.5 * (1.5 + 1) + 1.5, 0.5 * (1 / 6) * 0.5]
    assert got == pytest.approx(expected, rel=1e-14, abs=0)


@settings(max_examples=50, deadline=None)
@given(
    a=st.floats(min_value=0.0, max_value=5.0),
    b=st.floats(min_value=0.0, max_value=5.0),
    emin=st.floats(min_value=0.0, max_value=60.0),
)
def test_linear_in_the_spectrum(a, b, emin):
    e = np.linspace(1.0, 53.0, 300)
    p1, p2 = michel_nue(e), np.exp(-e / 10)
    m = np.array([emin])
    combined = tabulated_flux_moments(e, a * p1 + b * p2, m)
    separate = a * tabulated_flux_moments(e, p1, m) + b * tabulated_flux_moments(e, p2, m)
    assert combined == pytest.approx(separate, rel=1e-10, abs=1e-15)


def test_line_moments():
    e0, fluence = 29.79, 3.3e14
    emin = np.array([0.0, 10.0, 29.79, 29.8, 40.0])
    m = line_flux_moments(e0, fluence, emin)
    assert m.shape == (3, 5)
    for k in range(3):
        assert m[k] == pytest.approx(
            fluence * e0**-k * np.array([1, 1, 1, 0, 0]), rel=1e-15, abs=0
        )


def test_narrow_tabulated_line_approaches_line():
    # a normalised triangle of half-width 1e-3 MeV around e0 gives the line moments
    e0, w = 29.79, 1e-3
    e = np.linspace(e0 - w, e0 + w, 3)
    phi = np.array([0.0, 1.0 / w, 0.0])
    emin = np.array([0.0, 20.0])
    tab = tabulated_flux_moments(e, phi, emin)
    line = line_flux_moments(e0, 1.0, emin)
    assert tab == pytest.approx(line, rel=1e-6, abs=0)
