"""Helm and Klein–Nystrand form factors: normalisation, radii, zeros, independent integrals."""

import numpy as np
import pytest
from scipy import integrate, optimize

from nubound.physics import units
from nubound.physics.errors import PhysicsInputError
from nubound.physics.form_factors import (
    form_factor,
    helm,
    klein_nystrand,
    momentum_transfer_MeV,
    recoil_form_factor,
)

HBARC = units.hbar_c_MeV_fm
FIRST_ZERO_J1 = 4.493409457909064  # first positive root of tan x = x (zero of j₁)


def helm_radius_fm(A, s=0.9, a=0.52):
    c = 1.23 * A ** (1 / 3) - 0.60
    return np.sqrt(c**2 + 7 / 3 * np.pi**2 * a**2 - 5 * s**2)


@pytest.mark.parametrize("A", [40, 72.6, 127, 133])
def test_normalised_at_zero(A):
    assert helm(0.0, A) == pytest.approx(1.0, abs=1e-15)
    assert klein_nystrand(0.0, A) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("A", [40, 127, 133])
def test_low_q_slope_gives_rms_radius(A):
    # F(q) = 1 − q²⟨r²⟩/6 + O(q⁴). Helm = hard sphere ⊗ Gaussian: ⟨r²⟩ = 3/5 r₀² + 3 s²;
    # Klein–Nystrand = hard sphere ⊗ Yukawa: ⟨r²⟩ = 3/5 R_A² + 6 a_k² (Lewin & Smith 1996 §4;
    # Klein & Nystrand 1999).
    q_fm = 1e-3
    r2_helm = 3 / 5 * helm_radius_fm(A) ** 2 + 3 * 0.9**2
    r2_kn = 3 / 5 * (1.23 * A ** (1 / 3)) ** 2 + 6 * 0.7**2
    for ff, r2 in ((helm, r2_helm), (klein_nystrand, r2_kn)):
        slope = (1 - ff(q_fm * HBARC, A)) / q_fm**2
        assert slope == pytest.approx(r2 / 6, rel=1e-5, abs=0)


@pytest.mark.parametrize(
    ("A", "charge_radius_fm"),
    # measured rms charge radii, Angeli & Marinova, ADNDT 99 (2013) 69
    [(40, 3.4274), (74, 4.0742), (127, 4.7500), (133, 4.8041)],
)
def test_helm_rms_radius_close_to_measured_charge_radius(A, charge_radius_fm):
    # Lewin–Smith parameters were fitted to charge radii: agreement at the ~1 % level
    rms = np.sqrt(3 / 5 * helm_radius_fm(A) ** 2 + 3 * 0.9**2)
    assert rms == pytest.approx(charge_radius_fm, rel=0.015, abs=0)


def test_helm_and_kn_agree_at_low_q_with_matched_radii():
    # with the KN radius chosen to give the same ⟨r²⟩ the two agree to O(q⁴)
    A = 133
    r2 = 3 / 5 * helm_radius_fm(A) ** 2 + 3 * 0.9**2
    radius = np.sqrt((r2 - 6 * 0.7**2) * 5 / 3)
    q_fm = np.array([0.01, 0.02, 0.05])
    h = helm(q_fm * HBARC, A)
    kn = klein_nystrand(q_fm * HBARC, A, radius_coefficient_fm=radius / A ** (1 / 3))
    assert np.all(np.abs(h - kn) < 0.2 * (q_fm**2 * r2) ** 2)


@pytest.mark.parametrize("A", [40, 133])
def test_first_zero(A):
    # Helm vanishes where j₁(q r₀) = 0, KN where j₁(q R_A) = 0: q r = 4.4934
    # brackets [3.5, 6]/r hold only the first zero of j₁ (the second is at 7.725)
    r0 = helm_radius_fm(A)
    q_helm = optimize.brentq(lambda q: helm(q, A), 3.5 / r0 * HBARC, 6 / r0 * HBARC)
    assert q_helm / HBARC * r0 == pytest.approx(FIRST_ZERO_J1, rel=1e-9, abs=0)
    radius = 1.23 * A ** (1 / 3)
    q_kn = optimize.brentq(
        lambda q: klein_nystrand(q, A), 3.5 / radius * HBARC, 6 / radius * HBARC
    )
    assert q_kn / HBARC * radius == pytest.approx(FIRST_ZERO_J1, rel=1e-9, abs=0)


@pytest.mark.parametrize("q_fm", [0.1, 0.4, 0.9])
def test_hard_sphere_part_against_direct_integral(q_fm):
    # Fourier transform of a uniform sphere, (3/R³) ∫₀^R j₀(qr) r² dr, by quadrature;
    # KN with a_k → 0 is exactly this sphere.
    A = 133
    radius = 1.23 * A ** (1 / 3)
    val, _ = integrate.quad(lambda r: np.sinc(q_fm * r / np.pi) * r**2, 0, radius)
    assert klein_nystrand(q_fm * HBARC, A, range_fm=0.0) == pytest.approx(
        3 * val / radius**3, rel=1e-10, abs=0
    )
    # Helm = sphere(r₀) × exp(−q²s²/2)
    r0 = helm_radius_fm(A)
    val, _ = integrate.quad(lambda r: np.sinc(q_fm * r / np.pi) * r**2, 0, r0)
    expected = 3 * val / r0**3 * np.exp(-((q_fm * 0.9) ** 2) / 2)
    assert helm(q_fm * HBARC, A) == pytest.approx(expected, rel=1e-10, abs=0)


def test_small_argument_series_is_continuous():
    # 3j₁(x)/x switches to its series below x = 1e-3: both sides must agree (the closed form
    # loses ~3e-10 to cancellation at x = 1e-3, harmless)
    A = 133
    r0 = helm_radius_fm(A)
    q = np.array([0.999e-3, 1.001e-3]) / r0 * HBARC
    f = helm(q, A) * np.exp(((q / HBARC * 0.9) ** 2) / 2)
    x = q / HBARC * r0
    assert f == pytest.approx(1 - x**2 / 10, abs=1e-9)


def test_dispatch_and_options():
    q = np.array([10.0, 50.0])
    assert np.array_equal(form_factor("helm", q, 40), helm(q, 40))
    assert np.array_equal(
        form_factor("klein_nystrand", q, 72, radius_coefficient_fm=1.2),
        klein_nystrand(q, 72, radius_coefficient_fm=1.2),
    )
    with pytest.raises(PhysicsInputError, match="allowed"):
        form_factor("fermi", q, 40)


def test_momentum_transfer_nonrelativistic():
    # exact |q|² = 2MT + T² for elastic recoil; 2MT is used (T ≪ M)
    m = 123_000.0
    t = np.array([1e-3, 0.05])
    exact = np.sqrt(2 * m * t + t**2)
    assert momentum_transfer_MeV(t, m) == pytest.approx(
        exact, rel=t.max() / (4 * m) * 1.01, abs=0
    )


def test_recoil_form_factor_uses_q_squared_2MT():
    # q² = 2 M T (non-relativistic recoil); Ar-40-like mass, Klein–Nystrand with options
    t_MeV, mass_MeV = np.array([1e-3, 2e-2]), 37_211.0
    q = np.sqrt(2.0 * mass_MeV * t_MeV)
    expected = klein_nystrand(q, 40, range_fm=0.6)
    got = recoil_form_factor("klein_nystrand", t_MeV, mass_MeV, 40, {"range_fm": 0.6})
    np.testing.assert_allclose(got, expected, rtol=1e-12)
