"""XENONnT ⁸B CEvNS: release reading, registry, ⁸B flux and flavours, xenon, response, and the
published SR0+SR1 numbers (PRL 133, 191002 (2024), arXiv:2408.02877)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from nubound.physics import data as registry
from nubound.physics import units
from nubound.physics.cross_sections.cevns import cevns_dsigma_dT_cm2_per_MeV
from nubound.physics.cross_sections.kinematics import max_recoil_MeV
from nubound.physics.errors import DataFileError
from nubound.physics.experiments import get_experiment
from nubound.physics.experiments.xenonnt_b8 import XenonntB8, data, response
from nubound.physics.fluxes.solar_b8 import (
    SECONDS_PER_YEAR,
    SIN2_THETA12,
    SIN2_THETA13,
    b8_spectrum,
    electron_survival_probability,
    flavour_fractions,
)
from nubound.physics.nuclei import target


@pytest.fixture(scope="module")
def sr01() -> XenonntB8:
    return get_experiment("xenonnt_b8", runs=("sr0", "sr1"))


# --- release and registry -------------------------------------------------------------------
def test_observed_counts_and_background_match_publication():
    counts = {r: data.observed_counts(r).sum() for r in data.RUNS}
    assert counts == {"sr0": 9, "sr1": 28, "sr2": 25}  # every event inside the bins
    background = sum(
        data.EXPOSURE_TONNE_YEAR[r] * sum(data.background_template(r, k).sum()
                                          for k in ("ac", "er", "rg"))
        for r in ("sr0", "sr1"))
    assert 26.4 - 1.3 < background < 26.4 + 1.4  # published (26.4 +1.4 −1.3) events
    assert sum(data.EXPOSURE_TONNE_YEAR[r] for r in ("sr0", "sr1")) == pytest.approx(3.51,
                                                                                    abs=0.01)


def test_manifest_registers_every_release_file():
    manifest = registry.MANIFESTS["xenonnt-b8"].key
    keys = [k for k in registry.all_keys() if k.startswith("xenonnt-b8/") and k != manifest]
    assert len(keys) == 6928
    assert registry.lookup(manifest).sha256 == registry.MANIFESTS["xenonnt-b8"].sha256
    entry = registry.lookup("xenonnt-b8/RELEASE-README.md")
    assert entry.url.endswith("/README.md") and "60d230dd" in entry.url


def test_corrupted_and_missing_template_are_clear_errors(tmp_path, monkeypatch, data_dir):
    key = "xenonnt-b8/templates/sr0/ac/template_XENONnT_sr0_ac_cevns.h5"
    registry.lookup(key)  # the manifest is read (from the data folder) before it is moved
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DataFileError, match="missing") as missing:
        registry.data_path(key)
    assert "raw.githubusercontent.com/XENONnT/cevns_data_release" in str(missing.value)
    target_file = tmp_path / key
    target_file.parent.mkdir(parents=True)
    shutil.copy(data_dir / key, target_file)
    assert registry.data_path(key) == target_file
    with open(target_file, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01")
    with pytest.raises(DataFileError, match="corrupted") as bad:
        registry.data_path(key)
    message = str(bad.value)
    assert registry.lookup(key).sha256 in message and "template_XENONnT_sr0_ac" in message


def test_a_missing_manifest_is_a_clear_error(tmp_path, monkeypatch):
    manifest = registry.MANIFESTS["xenonnt-b8"]
    monkeypatch.setenv(registry.DATA_DIR_ENV, str(tmp_path))
    registry._manifest_entries.cache_clear()
    try:
        with pytest.raises(DataFileError, match="xenonnt-b8/SHA256SUMS' is missing") as err:
            registry.lookup("xenonnt-b8/data/sr0.csv")
        assert manifest.sha256 in str(err.value) or "sha256sum" in str(err.value)
    finally:
        registry._manifest_entries.cache_clear()


# --- ⁸B flux, flavours, xenon ---------------------------------------------------------------
def test_spectrum_is_normalised_with_bahcall_mean_energy():
    e, lam = b8_spectrum()
    assert np.trapezoid(lam, e) == pytest.approx(1.0, abs=1e-4)
    assert np.trapezoid(e * lam, e) == pytest.approx(6.735, abs=0.01)  # the table's mean


def test_survival_probability_limits_and_sno():
    c13 = 1.0 - SIN2_THETA13
    sin2_2 = 4.0 * SIN2_THETA12 * (1.0 - SIN2_THETA12)
    vacuum = c13**2 * (1.0 - 0.5 * sin2_2) + SIN2_THETA13**2  # averaged vacuum oscillation
    assert electron_survival_probability(1e-4) == pytest.approx(vacuum, rel=1e-4)
    assert electron_survival_probability(1e5) == pytest.approx(
        c13**2 * SIN2_THETA12 + SIN2_THETA13**2, rel=1e-3)  # ν₂ only
    # SNO's measured P_ee at 10 MeV: 0.317 ± 0.016 ± 0.009 (PRC 88, 025501 (2013), c₀)
    assert electron_survival_probability(10.0) == pytest.approx(0.317, abs=0.02)
    frac = flavour_fractions(np.linspace(0.1, 16.0, 50))
    np.testing.assert_allclose(frac.sum(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(frac[1], frac[2])


def test_natural_xenon_atomic_weight():
    # standard atomic weight of Xe: 131.293(6) (CIAAW)
    assert target("Xe").mean_atomic_mass_g_per_mol == pytest.approx(131.293, abs=0.006)


def test_channel_flavour_moments_carry_survival_probability(sr01: XenonntB8):
    ch = sr01.channels()[0]
    m0 = ch.flux_moments[:, 0, 0]  # above Eν_min of the lowest recoil
    e, lam = b8_spectrum()
    emin = float(np.sqrt(0.5 * ch.particle.mass_MeV * ch.recoil_energy_MeV[0]))
    above = e >= emin
    pee = electron_survival_probability(e)
    expected_e = np.trapezoid(np.where(above, lam * pee, 0.0), e) / np.trapezoid(
        np.where(above, lam, 0.0), e)
    assert m0[0] / m0.sum() == pytest.approx(expected_e, rel=2e-3)
    assert m0.sum() == pytest.approx(
        sr01.flux.flux_per_cm2_s * SECONDS_PER_YEAR * np.trapezoid(np.where(above, lam, 0.0), e),
        rel=2e-3)


# --- response -------------------------------------------------------------------------------
def test_recoil_quadrature_converged():
    coarse = response.efficiency_on_grid(("sr0",))
    t, w = response.recoil_grid_MeV()
    tf, wf = response.recoil_grid_MeV(0.005)
    fine = response.efficiency_on_grid(("sr0",), 0.005)
    rate = np.exp(-t * 1e3)  # a steeply falling recoil spectrum
    rate_f = np.exp(-tf * 1e3)
    np.testing.assert_allclose((rate * w) @ coarse, (rate_f * wf) @ fine, rtol=1e-3, atol=1e-9)


def test_sm_signal_equals_direct_double_integral(sr01: XenonntB8):
    """Node 0 of SR0 against ∫dT ε(T) Σ_i N_i ∫dEν Φ λ(Eν) dσ_i/dT, without flux moments."""
    counts = sr01.nominal(sr01.sm_signal())[: data.BINS_PER_RUN].sum()
    e, lam = b8_spectrum()
    e, lam = e[1:], lam[1:]  # the Eν = 0 node has λ = 0
    eff = data.efficiency_templates("sr0").sum(axis=1)
    t_keV = np.linspace(0.5, 5.0, 901)
    eps = np.interp(t_keV, data.MONO_ENERGIES_keV, eff)
    t = t_keV / 1e3
    atoms = 1e6 / target("Xe").mean_atomic_mass_g_per_mol * units.avogadro_per_mol
    total = np.zeros_like(t)
    for nuc, frac in target("Xe").isotopes:
        ds = cevns_dsigma_dT_cm2_per_MeV(e[:, None], t[None, :], nuc)
        ds = np.where(t[None, :] <= max_recoil_MeV(e, nuc.mass_MeV)[:, None], ds, 0.0)
        total += frac * atoms * np.trapezoid(lam[:, None] * ds, e, axis=0)
    direct = (5.46e6 * SECONDS_PER_YEAR * data.EXPOSURE_TONNE_YEAR["sr0"]
              * np.trapezoid(total * eps, t))
    assert counts == pytest.approx(direct, rel=5e-3)
    assert 3.0 < counts < 3.8  # ≈ 3.4 SR0 events at 5.46e6 cm⁻² s⁻¹


def test_flux_averaged_cross_section_as_implied_by_publication(sr01: XenonntB8):
    """Cross section × spectrum per nucleus against arXiv:2408.02877, which measures the ⁸B
    flux, (4.7 +3.6 −2.3) × 10⁶ cm⁻² s⁻¹, and the flux-weighted cross section,
    (1.1 +0.8 −0.5) × 10⁻³⁹ cm², from one fitted signal: Φ_meas / Φ_fixed = ⟨σ⟩_meas / ⟨σ⟩_SM,
    so ⟨σ⟩_SM = 1.1e-39 × Φ_fixed / 4.7e6 with Φ_fixed the flux held fixed for the cross
    section, SNO's 5.25e6 (or B16-GS98's 5.46e6). With the rounding of the two published
    numbers (±0.05 each): 1.16–1.35 × 10⁻³⁹ cm². A signal per unit flux 29 % low from the
    cross section would give ≥ 1.58 × 10⁻³⁹ and fail (docs/experiments/xenonnt_b8.md)."""
    low = 1.05e-39 * 5.25e6 / 4.75e6
    high = 1.15e-39 * 5.46e6 / 4.65e6
    assert low < sr01.flux_averaged_cross_section_cm2() < high


def test_asimov_is_fit_exactly_by_the_sm(sr01: XenonntB8):
    asimov = sr01.asimov()
    sm = sr01.sm_signal()
    chi2_sm, chi2_zero = asimov.chi2(np.stack([sm, 0.0 * sm]))
    assert chi2_sm < 1e-5 and chi2_zero > 1.0
    assert asimov.data_kind == "asimov"


# --- the published SR0+SR1 fit --------------------------------------------------------------
@pytest.fixture(scope="module")
def flux_fit(sr01: XenonntB8) -> dict:
    return sr01.flux_fit()


def test_background_only_rejected_as_published(flux_fit):
    assert 2.4 <= flux_fit["significance_sigma"] <= 3.1  # published 2.73 σ


def test_flux_interval_widths_as_published(flux_fit):
    best = flux_fit["flux_best_fit_per_cm2_s"]
    lo, hi = flux_fit["flux_1sigma_per_cm2_s"]
    assert best - lo == pytest.approx(2.3e6, rel=0.25)
    assert hi - best == pytest.approx(3.6e6, rel=0.25)


@pytest.mark.xfail(strict=True, reason="not reproduced: nubound fits 6.1e6 cm^-2 s^-1 "
                   "(+4.2, -2.8), 30 % above the published 4.7e6 (+3.6, -2.3): the release's "
                   "efficiency templates give ~29 % less signal per unit flux than the paper's "
                   "fit implies; no error found in flux, cross section, xenon, exposure or "
                   "quadrature (docs/experiments/xenonnt_b8.md, 'The best-fit flux')")
def test_best_fit_flux_as_published(flux_fit):
    assert flux_fit["flux_best_fit_per_cm2_s"] == pytest.approx(4.7e6, rel=0.25)


def test_flavour_dependent_models_see_the_oscillated_composition(sr01: XenonntB8):
    """NSI ε_ee vs ε_μμ: the BSM counts split as the ν_e and ν_μ shares of the SM events,
    which lie between P_ee and (1 − P_ee)/2 at the ⁸B energies that make keV recoils."""
    from nubound.physics.models import get_model
    from nubound.physics.rates import sm_rates

    rates = sm_rates(sr01.channels())
    share = []
    for k in range(3):
        only = {name: np.where(np.arange(3)[:, None] == k, r, 0.0) for name, r in rates.items()}
        share.append(sr01.nominal(sr01.expected_counts(only)).sum())
    share = np.array(share) / sum(share)
    assert share[1] == pytest.approx(share[2], rel=1e-12)
    lo, hi = electron_survival_probability([16.0, 8.0])
    assert lo < share[0] < hi
    nsi = get_model("nsi")
    sm = sr01.nominal(sr01.sm_signal()).sum()
    ee = sr01.nominal(nsi.signal_counts(sr01, None, {"eps_u_ee": 0.05})).sum() - sm
    mumu = sr01.nominal(nsi.signal_counts(sr01, None, {"eps_u_mumu": 0.05})).sum() - sm
    assert ee / mumu == pytest.approx(share[0] / share[1], rel=2e-3)
    moment = get_model("magnetic_moment")
    mu_e = sr01.nominal(moment.signal_counts(sr01, None, {"mu_e": 1e-9, "mu_mu": 0.0})).sum()
    mu_mu = sr01.nominal(moment.signal_counts(sr01, None, {"mu_e": 0.0, "mu_mu": 1e-9})).sum()
    assert (mu_e - sm) / (mu_mu - sm) == pytest.approx(share[0] / share[1], rel=0.05)


def test_bad_options_are_one_line_errors_naming_the_choices():
    from nubound.physics.errors import PhysicsInputError

    with pytest.raises(PhysicsInputError, match="sr0, sr1, sr2"):
        XenonntB8(runs=("sr3",))
    with pytest.raises(PhysicsInputError, match="b16_gs98, sno_nc"):
        XenonntB8(flux_normalisation="bp05")
    with pytest.raises(PhysicsInputError, match="ac, er, neutron"):
        XenonntB8(background_uncertainty={"radon": 0.1})
    with pytest.raises(PhysicsInputError, match="signal_efficiency_uncertainty"):
        XenonntB8(signal_efficiency_uncertainty=-0.1)


def test_sr2_adds_its_bins_and_exposure():
    full = XenonntB8()
    assert full.n_bins == 243 and full.signal_size == 5 * 243
    assert full.observed.sum() == 62
    per_run = full.nominal(full.sm_signal()).reshape(3, 81).sum(axis=1)
    sm01 = XenonntB8(runs=("sr0", "sr1")).nominal(XenonntB8(runs=("sr0", "sr1")).sm_signal())
    np.testing.assert_allclose(per_run[:2], sm01.reshape(2, 81).sum(axis=1), rtol=1e-12)


def test_flux_fit_with_signal_efficiency_uncertainty(sr01: XenonntB8):
    """A 25 % signal-efficiency prior (the collaboration's light-dark-matter model of these
    runs) leaves the best fit and the significance and widens the interval on both sides. It
    scales the nominal signal, not its yield steps (as the flux prior; the profile test checks
    that model against Migrad), so the one-dimensional profile of the scan without it,
    min_θ [χ²₀(μ (1 + 0.25 θ)) + θ²], which scales both, agrees only to a few per cent."""
    eff = get_experiment("xenonnt_b8", runs=("sr0", "sr1"), signal_efficiency_uncertainty=0.25)
    fit, fit0 = eff.flux_fit(), sr01.flux_fit()
    assert fit["strength_best_fit"] == pytest.approx(fit0["strength_best_fit"], abs=0.0051)
    assert fit["significance_sigma"] == pytest.approx(fit0["significance_sigma"], abs=1e-3)
    (lo, hi), (lo0, hi0) = fit["flux_1sigma_per_cm2_s"], fit0["flux_1sigma_per_cm2_s"]
    assert lo < lo0 and hi > hi0
    mu = np.linspace(0.0, 6.0, 1201)
    scan0 = sr01.flux_scan(mu)
    theta = np.linspace(-3.9, 3.9, 1561)
    prof = np.array([np.min(np.interp(m * (1.0 + 0.25 * theta), mu, scan0) + theta**2)
                     for m in mu])
    best = int(np.argmin(prof))
    delta = prof - prof[best] - 1.0
    phi = eff.flux.flux_per_cm2_s
    assert lo == pytest.approx(mu[:best][delta[:best] <= 0][0] * phi, rel=0.04)
    assert hi == pytest.approx(mu[best:][delta[best:] <= 0][-1] * phi, rel=0.04)
