"""Stepping Z_eff(T) against the X-ray Data Booklet Table 1-1 and the reference Ge steps."""

import numpy as np
import pytest

from nubound.physics.atomic_binding import (
    ATOMIC_NUMBERS,
    ELEMENT_STEPS_keV,
    SUBSHELLS_eV,
    effective_electron_count,
)
from nubound.physics.errors import PhysicsInputError

ELEMENTS = ("Ge", "Cs", "I", "Ar")
# j-subshell occupations 2j+1 by X-ray level name (K=1s, L1=2s, L2=2p1/2, L3=2p3/2, M4=3d3/2 ...)
OCCUPATION = {"1": 2, "2": 2, "3": 4, "4": 4, "5": 6}


@pytest.mark.parametrize("element", ELEMENTS)
def test_all_electrons_above_k_edge(element):
    z = ATOMIC_NUMBERS[element]
    assert effective_electron_count(element, 0.1) == z  # 100 keV > every K edge here
    assert effective_electron_count(element, np.array([0.05, 1.0, 10.0])).tolist() == [z] * 3


@pytest.mark.parametrize("element", ELEMENTS)
def test_monotone_and_bounded(element):
    t = np.geomspace(1e-9, 1.0, 4000)
    z = effective_electron_count(element, t)
    assert np.all(np.diff(z) >= 0)
    assert z.min() >= 0 and z.max() == ATOMIC_NUMBERS[element]
    assert effective_electron_count(element, -1e-3) == 0.0


@pytest.mark.parametrize("element", ["Cs", "I", "Ar"])
def test_subshell_occupations_sum_to_z(element):
    shells = SUBSHELLS_eV[element]
    assert sum(n for _, _, n in shells) == ATOMIC_NUMBERS[element]
    for name, _, n in shells:
        if name == "K":
            assert n == 2
        elif len(name) == 2:
            assert n == OCCUPATION[name[1]]


@pytest.mark.parametrize(
    ("element", "t_keV", "expected"),
    [
        # X-ray Data Booklet Table 1-1 (eV): Ar K 3205.9, L1 326.3, L2 250.6, L3 248.4,
        # M1 29.3, M2 15.9, M3 15.7
        ("Ar", 0.010, 0), ("Ar", 0.0158, 4), ("Ar", 0.020, 6), ("Ar", 0.100, 8),
        ("Ar", 0.249, 12), ("Ar", 0.300, 14), ("Ar", 1.0, 16), ("Ar", 4.0, 18),
        # I: K 33169, L1 5188, L2 4852, L3 4557, M1 1072, M2 931, M3 875, M4 630.8,
        # M5 619.3, N1 186, N2,3 123, N4 50.6, N5 48.9; 5s²5p⁵ (7) not listed
        ("I", 0.020, 7), ("I", 0.0495, 13), ("I", 0.100, 17), ("I", 0.150, 23),
        ("I", 0.500, 25), ("I", 0.625, 31), ("I", 0.700, 35), ("I", 0.900, 39),
        ("I", 1.0, 41), ("I", 2.0, 43), ("I", 5.0, 49), ("I", 10.0, 51), ("I", 40.0, 53),
        # Cs: K 35985, L1 5714, L2 5359, L3 5012, M1 1211, M2 1071, M3 1003, M4 740.5,
        # M5 726.6, N1 232.3, N2 172.4, N3 161.3, N4 79.8, N5 77.5, O1 22.7, O2 14.2,
        # O3 12.1; 6s¹ not listed
        ("Cs", 0.005, 1), ("Cs", 0.013, 5), ("Cs", 0.020, 7), ("Cs", 0.050, 9),
        ("Cs", 0.0785, 15), ("Cs", 0.100, 19), ("Cs", 0.165, 23), ("Cs", 0.200, 25),
        ("Cs", 0.300, 27), ("Cs", 0.730, 33), ("Cs", 1.0, 37), ("Cs", 1.1, 43),
        ("Cs", 2.0, 45), ("Cs", 5.5, 51), ("Cs", 30.0, 53), ("Cs", 36.0, 55),
        # Ge, reference-analysis steps (docs/physics.md#atomic-binding)
        ("Ge", 0.010, 4), ("Ge", 0.100, 14), ("Ge", 0.122, 18), ("Ge", 0.150, 20),
        ("Ge", 1.0, 22), ("Ge", 1.23, 26), ("Ge", 1.3, 28), ("Ge", 5.0, 30), ("Ge", 12.0, 32),
    ],
)
def test_values_against_table(element, t_keV, expected):
    assert effective_electron_count(element, t_keV * 1e-3) == expected


def test_ge_reference_steps_agree_with_booklet():
    # The reference Ge thresholds are the Booklet's Ge levels (L1 1414.6, L2 1248.1,
    # L3 1217.0, M1 180.1, M2 124.9, M3 120.8, M4 29.8 eV); the K edge is quoted as 11.11 keV
    # (Booklet 11103 eV).
    edges = [e for e, _ in ELEMENT_STEPS_keV["Ge"]][1:]
    booklet = [0.0298, 0.1208, 0.1249, 0.1801, 1.217, 1.2481, 1.4146, 11.103]
    assert edges == pytest.approx(booklet, rel=0, abs=8e-3)


def test_csi_pair_and_shapes():
    t = np.array([[1e-3, 2e-3], [5e-3, 40e-3]])
    z = effective_electron_count("Cs", t) + effective_electron_count("I", t)
    assert z.shape == (2, 2)
    assert z[1, 1] == 108


def test_unknown_element_names_choices():
    with pytest.raises(PhysicsInputError, match="allowed: Ar, Cs, Ge, I"):
        effective_electron_count("Xe", 1e-3)
