"""Reactor ν̄e flux at Dresden-II (physics/fluxes/reactor.py) against the raw tables."""

import numpy as np
import pytest

from nubound.physics.errors import PhysicsInputError
from nubound.physics.fluxes import reactor

# docs/physics.md#reactor-flux
FRACTIONS = {"U235": 0.58, "Pu239": 0.29, "U238": 0.08, "Pu241": 0.05}


def _raw(data_dir, name):
    return np.loadtxt(data_dir / "dresden-ii" / f"spectraMeV{name}.txt")


def test_reference_flux_integrates_to_total_flux():
    e = reactor.energy_grid_MeV("reference")
    flux = reactor.reactor_flux_per_MeV(e)
    assert np.trapezoid(flux, e) == pytest.approx(4.8e13, rel=1e-9)  # arXiv:2202.09672
    assert np.all(flux >= 0)
    assert np.all(reactor.reactor_flux_per_MeV(np.array([8.01, 9.0, 12.0])) == 0.0)


def test_reference_spectrum_above_2_MeV_matches_raw_tables(data_dir):
    # independent: each raw table normalised by its own trapezoid integral (linear interpolation)
    expected = 0.0
    for iso, f in FRACTIONS.items():
        t = _raw(data_dir, iso)
        above = t[:, 0] >= 2.0
        expected += f * np.trapezoid(t[above, 1], t[above, 0]) / np.trapezoid(t[:, 1], t[:, 0])
    e = np.linspace(2.0, 8.0, 6001)  # contains every 0.25 MeV node
    got = np.trapezoid(reactor.reactor_flux_per_MeV(e), e) / 4.8e13
    assert got == pytest.approx(expected, rel=1e-9)


def test_table_values_reproduced_at_nodes(data_dir):
    t = _raw(data_dir, "U235")
    norm = np.trapezoid(t[:, 1], t[:, 0])
    others = sum(
        f * np.interp(5.0, *_raw(data_dir, iso).T) / np.trapezoid(_raw(data_dir, iso)[:, 1],
                                                                 _raw(data_dir, iso)[:, 0])
        for iso, f in FRACTIONS.items() if iso != "U235"
    )
    value = 4.8e13 * (0.58 * np.interp(5.0, t[:, 0], t[:, 1]) / norm + others)
    assert reactor.reactor_flux_per_MeV(np.array([5.0]))[0] == pytest.approx(value, rel=1e-12)


def test_capture_component_is_0p6_per_fission():
    e = np.linspace(0.0, 2.0, 200001)
    per_fission = np.trapezoid(reactor.capture_flux_per_MeV(e), e) / (
        reactor.fission_fluence_rate_cm2_s()
    )
    assert per_fission == pytest.approx(0.6, rel=1e-4)
    assert np.all(reactor.capture_flux_per_MeV(np.array([1.4, 3.0])) == 0.0)


def test_fission_rate_uses_reference_yield_per_fission(data_dir):
    yield_per_fission = sum(
        f * np.trapezoid(_raw(data_dir, iso)[:, 1], _raw(data_dir, iso)[:, 0])
        for iso, f in FRACTIONS.items()
    )
    # a few ν̄ per fission (≈ 6 for equilibrium spectra including the low-energy part)
    assert 4.0 < yield_per_fission < 8.0
    assert reactor.fission_fluence_rate_cm2_s() == pytest.approx(4.8e13 / yield_per_fission)


def test_huber_mueller_above_2_MeV_per_fission(data_dir):
    # README of data/fluxes: Huber ∫(2–8 MeV) per fission 1.691 (235U), 1.272 (239Pu), 1.625 (241Pu)
    mueller_238 = np.loadtxt(data_dir / "fluxes" / "mueller_u238.txt", delimiter=",")
    sel = (mueller_238[:, 0] >= 2.0) & (mueller_238[:, 0] <= 8.0)
    i238 = np.trapezoid(mueller_238[sel, 1], mueller_238[sel, 0])
    expected = 0.58 * 1.691 + 0.29 * 1.272 + 0.05 * 1.625 + 0.08 * i238
    e = np.linspace(2.0, 8.0, 6001)
    flux = reactor.reactor_flux_per_MeV(e, spectrum_model="huber_mueller")
    per_fission = np.trapezoid(flux, e) / reactor.fission_fluence_rate_cm2_s()
    assert per_fission == pytest.approx(expected, rel=2e-3)


def test_models_agree_above_2_MeV_within_ten_percent():
    e = np.linspace(2.0, 8.0, 2001)
    ref = np.trapezoid(reactor.reactor_flux_per_MeV(e), e)
    for model in ("huber_mueller", "bestiole"):
        other = np.trapezoid(reactor.reactor_flux_per_MeV(e, spectrum_model=model), e)
        assert other == pytest.approx(ref, rel=0.1)


def test_moments_limits():
    scale = 96.4 * 86400.0
    m = reactor.reactor_flux_moments(np.array([1e-6, 8.5]), fluence_scale_s=scale)
    assert m[0, 0] == pytest.approx(4.8e13 * scale, rel=1e-9)  # below the grid: all the flux
    assert np.all(m[:, 1] == 0.0)  # above 8 MeV: nothing
    e = reactor.energy_grid_MeV()
    flux = reactor.reactor_flux_per_MeV(e)
    m1 = np.trapezoid(flux / e, e) * scale
    assert m[1, 0] == pytest.approx(m1, rel=1e-9)


def test_unknown_spectrum_model():
    with pytest.raises(PhysicsInputError, match="huber_mueller"):
        reactor.reactor_flux_per_MeV(np.array([3.0]), spectrum_model="huber")
