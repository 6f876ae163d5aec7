"""Neutrinos from pion decay at rest at the SNS (docs/physics.md#pion-decay-at-rest).

π⁺ → μ⁺ νμ gives a prompt line at Eν = (m_π² − m_μ²)/(2 m_π); μ⁺ → e⁺ νe ν̄μ gives the delayed
Michel spectra (e.g. Louis, Los Alamos Sci. 25 (1997); COHERENT, Science 357 (2017) 1123, Fig. S2):
  νe:  f(E) = (192/m_μ) (E/m_μ)² (1/2 − E/m_μ),   ν̄μ: f(E) = (64/m_μ) (E/m_μ)² (3/4 − E/m_μ),
for 0 ≤ E ≤ m_μ/2, each normalised to one. Per-flavour fluence at the detector
r N_POT / (4π L²). Arrival times: the proton pulse (Gaussian) convolved with the pion lifetime
(prompt) or with the pion and muon lifetimes (delayed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import exponnorm

from nubound.physics import units
from nubound.physics.errors import PhysicsInputError
from nubound.physics.fluxes.moments import N_MOMENTS, line_flux_moments

MUON_MASS_MeV = units.muon_mass_MeV
PROMPT_NEUTRINO_ENERGY_MeV = (units.charged_pion_mass_MeV**2 - MUON_MASS_MeV**2) / (
    2.0 * units.charged_pion_mass_MeV
)
MICHEL_ENDPOINT_MeV = MUON_MASS_MeV / 2.0
SNS_FLAVOURS = ("numu", "nue", "numubar")
COMPONENT_OF_FLAVOUR = {"numu": "prompt", "nue": "delayed", "numubar": "delayed"}

# (normalisation c, constant a) of f(E) = (c/m_μ) x² (a − x), x = E/m_μ
_MICHEL = {"nue": (192.0, 0.5), "numubar": (64.0, 0.75)}


def _michel_pdf(flavour: str, energy_MeV: ArrayLike) -> NDArray:
    c, a = _MICHEL[flavour]
    x = np.asarray(energy_MeV, dtype=float) / MUON_MASS_MeV
    inside = (x >= 0.0) & (x <= 0.5)
    return np.where(inside, c / MUON_MASS_MeV * x**2 * (a - x), 0.0)


def michel_nue_pdf(energy_MeV: ArrayLike) -> NDArray:
    """Delayed νe spectrum per MeV, normalised to 1."""
    return _michel_pdf("nue", energy_MeV)


def michel_numubar_pdf(energy_MeV: ArrayLike) -> NDArray:
    """Delayed ν̄μ spectrum per MeV, normalised to 1."""
    return _michel_pdf("numubar", energy_MeV)


@dataclass(frozen=True)
class SNSBeam:
    """Neutrinos per flavour per proton on target, protons on target, and the baseline."""

    nu_per_flavour_per_pot: float
    protons_on_target: float
    baseline_m: float

    def __post_init__(self) -> None:
        for name in ("nu_per_flavour_per_pot", "protons_on_target", "baseline_m"):
            if not getattr(self, name) > 0:
                raise PhysicsInputError(f"SNSBeam.{name} must be > 0, got {getattr(self, name)}")

    @property
    def fluence_per_flavour_cm2(self) -> float:
        """r N_POT / (4π L²) in cm⁻² over the whole exposure."""
        distance_cm = self.baseline_m * units.cm_per_m
        return self.nu_per_flavour_per_pot * self.protons_on_target / (4.0 * np.pi * distance_cm**2)


# COHERENT CsI 2021 (arXiv:2110.07730): 3.198e23 POT (13.99 GWh), 0.0848 ν/flavour/POT, 19.3 m
COHERENT_CSI_2021 = SNSBeam(0.0848, 3.198e23, 19.3)
# COHERENT Ar 2020 (Zenodo 3903810 LArParametersAnlA.yaml): 13.8e22 POT, 0.09 ν/flavour/POT, 27.5 m
COHERENT_AR_2020 = SNSBeam(0.09, 1.38e23, 27.5)


def sns_spectrum_per_MeV(beam: SNSBeam, flavour: str, energy_MeV: ArrayLike) -> NDArray:
    """dΦ/dEν of a delayed flavour in cm⁻² MeV⁻¹ (the prompt line has no density: use moments)."""
    if flavour not in _MICHEL:
        raise PhysicsInputError(
            f"sns_spectrum_per_MeV: '{flavour}' has no continuous spectrum; allowed: nue, numubar"
        )
    return beam.fluence_per_flavour_cm2 * _michel_pdf(flavour, energy_MeV)


def sns_flux_moments(beam: SNSBeam, flavour: str, min_energy_MeV: ArrayLike) -> NDArray:
    """M_k(T) = ∫_{Emin} dΦ/dE E^{-k} dE for k = 0, 1, 2, shape (3, nT), cm⁻² MeV^{-k}.

    Exact: the line for νμ; closed-form polynomial integrals for the Michel spectra.
    """
    if flavour not in SNS_FLAVOURS:
        raise PhysicsInputError(f"unknown SNS flavour '{flavour}'; allowed: {SNS_FLAVOURS}")
    emin = np.asarray(min_energy_MeV, dtype=float)
    fluence = beam.fluence_per_flavour_cm2
    if flavour == "numu":
        return line_flux_moments(PROMPT_NEUTRINO_ENERGY_MeV, fluence, emin)
    c, a = _MICHEL[flavour]
    # ∫ (c/m) x²(a − x) E^{-k} dE with E = m x: (c m^{-k}) ∫ (a x^{2−k} − x^{3−k}) dx
    lo = np.clip(emin / MUON_MASS_MeV, 0.0, 0.5)
    out = np.empty((N_MOMENTS, emin.size))
    for k in range(N_MOMENTS):
        def antiderivative(x: NDArray, k: int = k) -> NDArray:
            return a * x ** (3 - k) / (3 - k) - x ** (4 - k) / (4 - k)

        out[k] = c * MUON_MASS_MeV ** (-k) * (antiderivative(np.float64(0.5)) - antiderivative(lo))
    return fluence * out


def _exgauss(tau_ns: float, mean_ns: float, sigma_ns: float):
    """Gaussian(mean, σ) ⊗ exponential(τ) as a scipy distribution (times in ns)."""
    return exponnorm(tau_ns / sigma_ns, loc=mean_ns, scale=sigma_ns)


def _component_dists(component: str, mean_ns: float, sigma_ns: float):
    tau_pi, tau_mu = units.charged_pion_lifetime_ns, units.muon_lifetime_ns
    if component == "prompt":
        return [(1.0, _exgauss(tau_pi, mean_ns, sigma_ns))]
    if component == "delayed":
        # Exp(τπ) ⊗ Exp(τμ) = [τμ Exp(τμ) − τπ Exp(τπ)] / (τμ − τπ)  (hypoexponential)
        d = tau_mu - tau_pi
        return [
            (tau_mu / d, _exgauss(tau_mu, mean_ns, sigma_ns)),
            (-tau_pi / d, _exgauss(tau_pi, mean_ns, sigma_ns)),
        ]
    raise PhysicsInputError(f"unknown timing component '{component}'; allowed: prompt, delayed")


def time_pdf_per_us(
    t_us: ArrayLike, component: str, *, pulse_mean_ns: float = 440.0, pulse_sigma_ns: float = 150.0
) -> NDArray:
    """Arrival-time density (per µs) of the prompt or delayed neutrinos.

    Proton pulse: Gaussian, mean 440 ns, σ 150 ns (COHERENT Ar release YAML).
    """
    t_ns = np.asarray(t_us, dtype=float) * units.ns_per_us
    dists = _component_dists(component, pulse_mean_ns, pulse_sigma_ns)
    return units.ns_per_us * sum(w * d.pdf(t_ns) for w, d in dists)


def time_bin_fractions(
    edges_us: ArrayLike,
    component: str,
    *,
    pulse_mean_ns: float = 440.0,
    pulse_sigma_ns: float = 150.0,
) -> NDArray:
    """Fraction of a component's neutrinos arriving in each time bin (edges in µs)."""
    e_ns = np.asarray(edges_us, dtype=float) * units.ns_per_us
    dists = _component_dists(component, pulse_mean_ns, pulse_sigma_ns)
    cdf = sum(w * d.cdf(e_ns) for w, d in dists)
    return np.diff(cdf)
