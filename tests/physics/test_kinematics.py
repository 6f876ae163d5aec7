"""Two-body kinematics: T_max against energy–momentum conservation, and its inverse."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nubound.physics import units
from nubound.physics.cross_sections.kinematics import max_recoil_MeV, min_neutrino_energy_MeV

energies = st.floats(min_value=1e-3, max_value=300.0)
masses = st.sampled_from([units.electron_mass_MeV, 37_000.0, 67_000.0, 118_000.0, 124_000.0])


@settings(max_examples=60, deadline=None)
@given(e=energies, m=masses)
def test_max_recoil_is_backscattering(e, m):
    # Backscattered massless ν: p_target = E + E' and (T + M)² = p² + M², E' = E − T.
    t = float(max_recoil_MeV(e, m))
    assert 0 < t < e
    p = e + (e - t)
    assert (t + m) ** 2 == pytest.approx(p**2 + m**2, rel=1e-12, abs=0)


@settings(max_examples=60, deadline=None)
@given(e=energies, m=masses)
def test_min_energy_inverts_max_recoil(e, m):
    back = float(min_neutrino_energy_MeV(max_recoil_MeV(e, m), m))
    assert back == pytest.approx(e, rel=1e-9, abs=0)


@settings(max_examples=60, deadline=None)
@given(t=st.floats(min_value=1e-7, max_value=10.0), m=masses)
def test_max_recoil_inverts_min_energy(t, m):
    back = float(max_recoil_MeV(min_neutrino_energy_MeV(t, m), m))
    assert back == pytest.approx(t, rel=1e-9, abs=0)


def test_monotone_and_vectorised():
    e = np.linspace(0.1, 60.0, 500)
    t = max_recoil_MeV(e, 124_000.0)
    assert t.shape == e.shape and np.all(np.diff(t) > 0)
    assert np.all(np.diff(min_neutrino_energy_MeV(t, 124_000.0)) > 0)


def test_known_values():
    # Compton-like edge for ν–e at 1 MeV: 2/(m_e + 2) MeV = 0.79650 MeV
    assert float(max_recoil_MeV(1.0, units.electron_mass_MeV)) == pytest.approx(
        2.0 / (units.electron_mass_MeV + 2.0)
    )
    assert float(max_recoil_MeV(1.0, units.electron_mass_MeV)) == pytest.approx(0.79650, abs=1e-5)
    # heavy target limit 2E²/M: ¹³³Cs at 30 MeV recoils up to ≈ 14.5 keV
    assert float(max_recoil_MeV(30.0, 123_800.0)) == pytest.approx(2 * 30.0**2 / 123_860.0)
    assert float(min_neutrino_energy_MeV(0.0, 1000.0)) == 0.0
