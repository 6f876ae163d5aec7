"""Germanium quenching (physics/quenching_germanium.py) against the released table and README."""

import numpy as np
import pytest

from nubound.physics.errors import PhysicsInputError
from nubound.physics.quenching_germanium import (
    QUENCHING_CHOICES,
    ionisation_energy_keV,
    lindhard_quenching_factor,
    quenching_factor,
    recoil_energy_for_ionisation_keV,
)


def test_lindhard_hand_value():
    # ε = 11.5 · 32^(-7/3) · 1 keV; g = 3ε^0.15 + 0.7ε^0.6 + ε; Q = k g/(1 + k g), k = 0.157
    eps = 11.5 * 32 ** (-7 / 3)
    g = 3 * eps**0.15 + 0.7 * eps**0.6 + eps
    assert lindhard_quenching_factor(1.0) == pytest.approx(0.157 * g / (1 + 0.157 * g), rel=1e-12)
    assert 0.15 < lindhard_quenching_factor(1.0) < 0.25  # the familiar ≈ 0.2 at 1 keVnr


def test_fef_table_is_linear_then_lindhard(data_dir):
    # docs/experiments/dresden_ii.md#data: Fef = 0.4361 − 0.192 T below ≈ 1.34 keVnr, Lindhard
    # k=0.157 above
    t = np.array([0.1, 0.5, 1.0, 1.3])
    assert quenching_factor("fef", t) == pytest.approx(0.4361 - 0.192 * t, abs=2e-4)
    t_hi = np.array([1.5, 2.0, 3.0, 4.4])
    assert quenching_factor("fef", t_hi) == pytest.approx(lindhard_quenching_factor(t_hi), rel=2e-3)
    table = np.loadtxt(data_dir / "dresden-ii" / "QF_Fef_YBe.txt")
    assert quenching_factor("ybe", table[::37, 0]) == pytest.approx(table[::37, 2], rel=1e-12)


def test_continuity_at_end_of_table():
    for q in ("fef", "ybe"):
        below, above = quenching_factor(q, np.array([4.5, 4.5001]))
        assert above == pytest.approx(below, rel=1e-3)


@pytest.mark.parametrize("quenching", ["ybe", "lindhard"])
def test_ionisation_energy_monotonic(quenching):
    t = np.linspace(0.0, 10.0, 5001)
    assert np.all(np.diff(ionisation_energy_keV(quenching, t)) > 0)


def test_fef_ionisation_energy_monotonic_outside_its_documented_dip():
    # The released Fef curve Q = 0.4361 − 0.192 T gives dE_ee/dT = 0.4361 − 0.384 T < 0 for
    # T > 1.136 keVnr until the switch to Lindhard at ≈ 1.34 keVnr (a ≈ 3 % dip of E_ee).
    t_low = np.linspace(0.0, 1.13, 1000)
    t_high = np.linspace(1.36, 10.0, 1000)
    assert np.all(np.diff(ionisation_energy_keV("fef", t_low)) > 0)
    assert np.all(np.diff(ionisation_energy_keV("fef", t_high)) > 0)
    dip = ionisation_energy_keV("fef", np.array([1.136, 1.34]))
    assert dip[1] < dip[0] and dip[1] / dip[0] > 0.95


def test_thresholds_at_200_eVee():
    # docs/experiments/dresden_ii.md#data: 0.2 keVee ↔ ≈ 0.64 keVnr (Fef), ≈ 1.05 keVnr (YBe)
    assert recoil_energy_for_ionisation_keV("fef", 0.2) == pytest.approx(0.64, abs=0.01)
    assert recoil_energy_for_ionisation_keV("ybe", 0.2) == pytest.approx(1.05, abs=0.01)
    t_l = recoil_energy_for_ionisation_keV("lindhard", 0.2)
    assert ionisation_energy_keV("lindhard", t_l) == pytest.approx(0.2, rel=1e-9)
    assert t_l > 1.05  # Lindhard quenches most at low energy


def test_quenching_ordering_at_low_recoil():
    t = np.linspace(0.05, 1.0, 50)
    fef, ybe, lin = (quenching_factor(q, t) for q in QUENCHING_CHOICES)
    assert np.all(fef > ybe) and np.all(ybe > lin)


def test_unknown_quenching():
    with pytest.raises(PhysicsInputError, match="fef, ybe, lindhard"):
        quenching_factor("chavarria", np.array([1.0]))
