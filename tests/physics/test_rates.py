"""SM rate densities from flux moments against direct evaluations of the cross sections."""

import numpy as np
import pytest

from nubound.physics import units
from nubound.physics.atomic_binding import effective_electron_count
from nubound.physics.cross_sections.cevns import cevns_dsigma_dT_cm2_per_MeV
from nubound.physics.cross_sections.kinematics import min_neutrino_energy_MeV
from nubound.physics.cross_sections.nu_e import nu_e_dsigma_dT_cm2_per_MeV
from nubound.physics.experiments.base import Channel
from nubound.physics.fluxes.moments import line_flux_moments, tabulated_flux_moments
from nubound.physics.nuclei import NUCLIDES
from nubound.physics.rates import cevns_sm_rate, electron_sm_rate, sm_rates

CS = NUCLIDES["Cs133"]
ME = units.electron_mass_MeV
MMU = units.muon_mass_MeV
LINE_MeV = 29.79
FLUENCE = 2.5e14  # cm⁻²
META = {
    "form_factor": "klein_nystrand",
    "form_factor_options": {"radius_coefficient_fm": 1.2, "range_fm": 0.7},
    "sin2_theta_w": units.sin2_theta_w_reference,
}


def michel(e, flavour):
    """SNS delayed spectra (docs/physics.md#pion-decay-at-rest), unit integral on [0, m_μ/2]."""
    x = e / MMU
    shape = 192 * x**2 * (0.5 - x) if flavour == "nue" else 64 * x**2 * (0.75 - x)
    return np.where(x <= 0.5, shape / MMU, 0.0)


def nucleus_channel(t, moments, flavours):
    return Channel("cevns", "nucleus", CS, flavours, t, moments, np.ones((t.size, 1)), META)


def electron_channel(t, moments, flavours):
    meta = {"sin2_theta_w": META["sin2_theta_w"]}
    resp = effective_electron_count("Cs", t)[:, None]
    return Channel("electrons", "electron", "Cs", flavours, t, moments, resp, meta)


def test_cevns_line_rate_equals_fluence_times_dsigma():
    t = np.linspace(1e-4, 14e-3, 60)  # below T_max(29.79 MeV, ¹³³Cs) = 14.33 keV
    emin = min_neutrino_energy_MeV(t, CS.mass_MeV)
    ch = nucleus_channel(t, line_flux_moments(LINE_MeV, FLUENCE, emin)[None], ("numu",))
    direct = FLUENCE * cevns_dsigma_dT_cm2_per_MeV(
        LINE_MeV, t, CS, sin2_theta_w=META["sin2_theta_w"], form_factor_name=META["form_factor"],
        form_factor_options=META["form_factor_options"],
    )
    assert cevns_sm_rate(ch)[0] == pytest.approx(direct, rel=1e-12, abs=0)
    # and without the T/Eν term
    direct_no_t = FLUENCE * cevns_dsigma_dT_cm2_per_MeV(
        LINE_MeV, t, CS, sin2_theta_w=META["sin2_theta_w"], form_factor_name=META["form_factor"],
        form_factor_options=META["form_factor_options"], keep_recoil_term=False,
    )
    got = cevns_sm_rate(ch, keep_recoil_term=False)[0]
    assert got == pytest.approx(direct_no_t, rel=1e-12, abs=0)


def test_cevns_line_rate_zero_beyond_endpoint():
    t = np.array([14.5e-3, 20e-3])  # T_max(29.79 MeV, ¹³³Cs) = 14.33 keV
    emin = min_neutrino_energy_MeV(t, CS.mass_MeV)
    ch = nucleus_channel(t, line_flux_moments(LINE_MeV, FLUENCE, emin)[None], ("numu",))
    assert np.all(cevns_sm_rate(ch) == 0.0)


def test_electron_line_rate_equals_fluence_times_dsigma():
    e0 = 2.0
    t = np.linspace(1e-3, 1.9, 50)  # T_max(2 MeV) = 1.773 MeV: last points beyond it
    emin = min_neutrino_energy_MeV(t, ME)
    flavours = ("nue", "nuebar", "numu", "numubar")
    mom = np.repeat(line_flux_moments(e0, FLUENCE, emin)[None], len(flavours), axis=0)
    rate = electron_sm_rate(electron_channel(t, mom, flavours))
    for i, f in enumerate(flavours):
        direct = FLUENCE * nu_e_dsigma_dT_cm2_per_MeV(e0, t, f, sin2_theta_w=META["sin2_theta_w"])
        assert rate[i] == pytest.approx(direct, rel=1e-10, abs=1e-60)


def _direct_quadrature(t, mass, dsigma, flavour, n=4000):
    """∫_{Emin(T)}^{m_μ/2} φ(E) dσ/dT(E, T) dE per T, Gauss–Legendre on each T's interval."""
    x, w = np.polynomial.legendre.leggauss(n)
    out = np.empty(t.size)
    for j, tj in enumerate(t):
        lo = float(min_neutrino_energy_MeV(tj, mass))
        hi = MMU / 2
        if lo >= hi:
            out[j] = 0.0
            continue
        e = 0.5 * (hi - lo) * (x + 1) + lo
        out[j] = 0.5 * (hi - lo) * (w @ (michel(e, flavour) * dsigma(e, tj)))
    return out


def test_cevns_tabulated_spectrum_against_direct_quadrature():
    t = np.linspace(2e-3, 30e-3, 15)
    flavours = ("nue", "numubar")
    e = np.linspace(0.0, MMU / 2, 20001)[1:]  # grid from h > 0
    emin = min_neutrino_energy_MeV(t, CS.mass_MeV)
    mom = np.stack([tabulated_flux_moments(e, michel(e, f), emin) for f in flavours])
    rate = cevns_sm_rate(nucleus_channel(t, mom, flavours))

    def dsigma(en, tj):
        return cevns_dsigma_dT_cm2_per_MeV(
            en, tj, CS, sin2_theta_w=META["sin2_theta_w"], form_factor_name=META["form_factor"],
            form_factor_options=META["form_factor_options"],
        )

    for i, f in enumerate(flavours):
        direct = _direct_quadrature(t, CS.mass_MeV, dsigma, f, n=200)
        # the moments' trapezoid rule (h = 2.6 keV) against Gauss–Legendre: ≤ 1e-6 of the peak
        assert np.all(np.abs(rate[i] - direct) <= 1e-6 * direct.max())
        assert np.all(rate[i] >= 0)


def test_electron_tabulated_spectrum_against_direct_quadrature():
    t = np.linspace(0.05, 50.0, 12)
    flavours = ("nue", "numubar")
    e = np.linspace(0.0, MMU / 2, 20001)[1:]
    emin = min_neutrino_energy_MeV(t, ME)
    mom = np.stack([tabulated_flux_moments(e, michel(e, f), emin) for f in flavours])
    rate = electron_sm_rate(electron_channel(t, mom, flavours))
    for i, f in enumerate(flavours):

        def dsigma(en, tj, f=f):
            return nu_e_dsigma_dT_cm2_per_MeV(en, tj, f, sin2_theta_w=META["sin2_theta_w"])

        direct = _direct_quadrature(t, ME, dsigma, f, n=200)
        assert np.all(np.abs(rate[i] - direct) <= 1e-6 * direct.max())


def test_sm_rates_dispatch_and_defaults():
    t = np.linspace(1e-3, 10e-3, 5)
    mom_n = line_flux_moments(LINE_MeV, 1.0, min_neutrino_energy_MeV(t, CS.mass_MeV))[None]
    mom_e = line_flux_moments(LINE_MeV, 1.0, min_neutrino_energy_MeV(t, ME))[None]
    chans = (nucleus_channel(t, mom_n, ("numu",)), electron_channel(t, mom_e, ("numu",)))
    out = sm_rates(chans)
    assert set(out) == {"cevns", "electrons"}
    assert out["cevns"] == pytest.approx(cevns_sm_rate(chans[0]), rel=1e-15, abs=0)
    assert out["electrons"] == pytest.approx(electron_sm_rate(chans[1]), rel=1e-15, abs=0)
    # without meta the defaults are Helm and the PDG sin²θ_W
    bare = Channel("b", "nucleus", CS, ("numu",), t, mom_n, np.ones((t.size, 1)))
    direct = cevns_dsigma_dT_cm2_per_MeV(LINE_MeV, t, CS)
    assert cevns_sm_rate(bare)[0] == pytest.approx(direct, rel=1e-12, abs=0)
