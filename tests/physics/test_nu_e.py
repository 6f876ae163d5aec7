"""SM ν–e elastic scattering against the classic total cross sections and symmetries."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nubound.physics import units
from nubound.physics.cross_sections.kinematics import max_recoil_MeV
from nubound.physics.cross_sections.nu_e import electron_couplings, nu_e_dsigma_dT_cm2_per_MeV
from nubound.physics.errors import PhysicsInputError

ME = units.electron_mass_MeV
# σ₀ = G_F² m_e/(2π) in cm²/MeV
SIGMA0 = units.per_MeV2_to_cm2(units.fermi_constant_per_MeV2**2 * ME / (2 * np.pi))


def total(e, flavour, n=200, **kw):
    """∫₀^{T_max} dσ/dT dT by Gauss–Legendre (the integrand is a polynomial in T)."""
    x, w = np.polynomial.legendre.leggauss(n)
    tmax = float(max_recoil_MeV(e, ME))
    t = 0.5 * tmax * (x + 1)
    return 0.5 * tmax * (w @ nu_e_dsigma_dT_cm2_per_MeV(e, t, flavour, **kw))


@pytest.mark.parametrize(
    ("flavour", "bracket"),
    # E ≫ m_e: σ = (G_F² m_e E/2π) × bracket(s), s = sin²θ_W ('t Hooft, PLB 37 (1971) 195;
    # Marciano & Parsa, J. Phys. G 29 (2003) 2629)
    [
        ("nue", lambda s: 1 + 4 * s + 16 / 3 * s**2),
        ("nuebar", lambda s: (1 + 4 * s + 16 * s**2) / 3),
        ("numu", lambda s: 1 - 4 * s + 16 / 3 * s**2),
        ("numubar", lambda s: (1 - 4 * s + 16 * s**2) / 3),
        ("nutau", lambda s: 1 - 4 * s + 16 / 3 * s**2),
    ],
)
def test_high_energy_total_cross_sections(flavour, bracket):
    e = 1000.0  # MeV; corrections are O(m_e/E) = 5e-4
    expected = SIGMA0 * e * bracket(units.sin2_theta_w)
    assert total(e, flavour) == pytest.approx(expected, rel=1e-3, abs=0)


def test_high_energy_numbers():
    # per MeV of Eν at s = 0.23857: νe 9.73e-45, ν̄e 4.11e-45, νμ 1.50e-45, ν̄μ 1.37e-45 cm²
    # (cf. the commonly quoted 9.5, 4.0, 1.6, 1.3 × 1e-45 cm² (Eν/MeV) at s ≈ 0.23)
    per_mev = {f: total(1000.0, f) / 1000.0 for f in ("nue", "nuebar", "numu", "numubar")}
    assert per_mev["nue"] == pytest.approx(9.73e-45, rel=5e-3, abs=0)
    assert per_mev["nuebar"] == pytest.approx(4.11e-45, rel=5e-3, abs=0)
    assert per_mev["numu"] == pytest.approx(1.50e-45, rel=5e-3, abs=0)
    assert per_mev["numubar"] == pytest.approx(1.37e-45, rel=5e-3, abs=0)


@pytest.mark.parametrize("e", [0.3, 1.0, 5.0])
@pytest.mark.parametrize("flavour", ["nue", "nuebar", "numu", "numubar"])
def test_total_cross_section_exact_integral(e, flavour):
    # ∫₀^{Tm} = σ₀ [(g_V+g_A)² Tm + (g_V−g_A)² E (1 − (1−Tm/E)³)/3 − (g_V²−g_A²) m_e Tm²/(2E²)]
    gv, ga = electron_couplings(flavour)
    tm = float(max_recoil_MeV(e, ME))
    expected = SIGMA0 * (
        (gv + ga) ** 2 * tm
        + (gv - ga) ** 2 * e * (1 - (1 - tm / e) ** 3) / 3
        - (gv**2 - ga**2) * ME * tm**2 / (2 * e**2)
    )
    assert total(e, flavour) == pytest.approx(expected, rel=1e-12, abs=0)


def test_couplings():
    s = units.sin2_theta_w
    assert electron_couplings("nue") == pytest.approx((0.5 + 2 * s, 0.5), rel=1e-15, abs=0)
    assert electron_couplings("numu") == pytest.approx((-0.5 + 2 * s, -0.5), rel=1e-15, abs=0)
    for f in ("nue", "numu", "nutau"):
        gv, ga = electron_couplings(f)
        assert electron_couplings(f + "bar") == (gv, -ga)
    # the CC part of νe is g_V, g_A → g_V + 1, g_A + 1 relative to νμ
    gv_e, ga_e = electron_couplings("nue")
    gv_m, ga_m = electron_couplings("numu")
    assert (gv_e - gv_m, ga_e - ga_m) == pytest.approx((1.0, 1.0), rel=1e-15, abs=0)
    with pytest.raises(PhysicsInputError, match="allowed"):
        electron_couplings("nus")


@settings(max_examples=60, deadline=None)
@given(
    e=st.floats(min_value=0.05, max_value=60.0),
    frac=st.floats(min_value=0.0, max_value=1.0),
    flavour=st.sampled_from(["nue", "numu"]),
)
def test_antineutrino_is_ga_flip(e, frac, flavour):
    t = frac * float(max_recoil_MeV(e, ME))
    gv, ga = electron_couplings(flavour)
    anti = nu_e_dsigma_dT_cm2_per_MeV(e, t, flavour + "bar")
    flipped = nu_e_dsigma_dT_cm2_per_MeV(e, t, flavour, couplings=(gv, -ga))
    assert anti == pytest.approx(flipped, rel=1e-14, abs=0)
    assert anti >= 0


def test_endpoint_and_recoil_limits():
    e = 2.0
    tmax = float(max_recoil_MeV(e, ME))
    for f in ("nue", "nuebar", "numu", "numubar"):
        gv, ga = electron_couplings(f)
        assert nu_e_dsigma_dT_cm2_per_MeV(e, tmax * (1 + 1e-9), f) == 0.0
        assert nu_e_dsigma_dT_cm2_per_MeV(e, tmax * (1 - 1e-9), f) > 0.0
        # T → 0: σ₀ ((g_V+g_A)² + (g_V−g_A)²) = 2 σ₀ (g_V² + g_A²)
        d0 = nu_e_dsigma_dT_cm2_per_MeV(e, 0.0, f)
        assert d0 == pytest.approx(2 * SIGMA0 * (gv**2 + ga**2), rel=1e-14, abs=0)


def test_broadcasting():
    e = np.array([1.0, 3.0])[:, None]
    t = np.linspace(0.0, 0.5, 7)[None, :]
    out = nu_e_dsigma_dT_cm2_per_MeV(e, t, "nuebar")
    assert out.shape == (2, 7)
    assert out[1, 3] == nu_e_dsigma_dT_cm2_per_MeV(3.0, t[0, 3], "nuebar")
