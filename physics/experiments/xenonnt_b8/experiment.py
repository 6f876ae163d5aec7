"""XENONnT solar ⁸B CEvNS (PRL 133, 191002 (2024), arXiv:2408.02877; SR0–SR2 public likelihood
release, doi:10.5281/zenodo.20576156). Documentation: docs/experiments/xenonnt_b8.md.

Signal: CEvNS of ⁸B neutrinos (``fluxes.solar_b8``: Bahcall spectrum × the chosen total flux,
flavour composition at Earth from adiabatic MSW-LMA) on natural xenon, one channel per
isotope (nine, Helm form factor), folded with the release's efficiency templates at the yield
nodes of ``response.YIELD_NODES`` (``signal_nodes`` = 5: the signal vector is the signal at
(tly, tqy) = (0, 0), (+1, 0), (−1, 0), (0, +1), (0, −1), node-major). Channels carry the three
flavours ν_e, ν_μ, ν_τ separately, so flavour-dependent models (NSI ε_ee vs ε_μμ, L_μ − L_e,
magnetic moments per flavour) see the oscillated composition.

No electron channel, ``electron_events`` = 0: the release has no response to electron recoils
for signals (its ER template is a fixed background), so electron-coupled signals (ν–e
scattering, including BSM ν–e) are not counted here, as for COHERENT Ar.

Likelihood: ``likelihood`` (binned Poisson, 81 bins per run; flux, AC, ER, neutron
normalisations; tly, tqy), profiled exactly and batched by ``kernel``.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from nubound.physics import units
from nubound.physics.cross_sections.cevns import cevns_total_cross_section_cm2
from nubound.physics.cross_sections.kinematics import min_neutrino_energy_MeV
from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments.base import Channel, Experiment
from nubound.physics.experiments.xenonnt_b8 import data, kernel, likelihood, response
from nubound.physics.fluxes.moments import tabulated_flux_moments
from nubound.physics.fluxes.solar_b8 import (
    B8_FLAVOURS,
    B8_PRODUCTION_ELECTRON_DENSITY_NA_PER_CM3,
    SECONDS_PER_YEAR,
    b8_normalisation,
    b8_spectrum,
    flavour_fractions,
)
from nubound.physics.form_factors import FORM_FACTORS
from nubound.physics.nuclei import target
from nubound.physics.rates import sm_rates
from nubound.physics.statistics.profile import ProfileResult

TONNE_g = 1.0e6


class XenonntB8(Experiment):
    """XENONnT ⁸B CEvNS: 81 bins per science run, signal at 5 yield nodes, profiled Poisson χ².

    Options: ``runs`` (subset of sr0, sr1, sr2; default all), ``flux_normalisation``
    (``b16_gs98`` default, ``sno_nc``), ``background_uncertainty`` ((name, width) pairs for
    ac, er, neutron), ``electron_density_NA_per_cm3`` (⁸B production zone, for P_ee),
    ``form_factor``, ``sin2_theta_w``, ``signal_efficiency_uncertainty`` (relative width of a
    Gaussian signal-efficiency nuisance; default 0: none).

    Examples
    --------
    >>> exp = XenonntB8(runs=("sr0", "sr1"))          # doctest: +SKIP
    >>> round(exp.summary()["observed_events"])        # doctest: +SKIP
    37
    """

    name = "xenonnt_b8"
    quenching_choices = ("nominal",)
    default_quenching = "nominal"

    def __init__(
        self,
        *,
        runs: tuple[str, ...] | str = data.RUNS,
        flux_normalisation: str = "b16_gs98",
        background_uncertainty: tuple[tuple[str, float], ...] | dict | None = None,
        electron_density_NA_per_cm3: float = B8_PRODUCTION_ELECTRON_DENSITY_NA_PER_CM3,
        form_factor: str = "helm",
        sin2_theta_w: float = units.sin2_theta_w,
        signal_efficiency_uncertainty: float = 0.0,
    ) -> None:
        if form_factor not in FORM_FACTORS:
            raise PhysicsInputError(
                f"xenonnt_b8: unknown form_factor '{form_factor}'; allowed: "
                + ", ".join(FORM_FACTORS))
        self.runs = data.check_runs(runs)
        self.flux = b8_normalisation(flux_normalisation)
        unc = dict(background_uncertainty or {})
        bad = set(unc) - set(likelihood.BACKGROUND_UNCERTAINTY)
        if bad or any(v < 0 for v in unc.values()):
            raise PhysicsInputError(
                f"xenonnt_b8: background_uncertainty keys must be "
                f"{', '.join(likelihood.BACKGROUND_UNCERTAINTY)} with widths >= 0; got {unc}")
        self.background_uncertainty = unc
        if not signal_efficiency_uncertainty >= 0.0:
            raise PhysicsInputError(
                "xenonnt_b8: signal_efficiency_uncertainty must be a width >= 0; got "
                f"{signal_efficiency_uncertainty}")
        self.signal_efficiency_uncertainty = float(signal_efficiency_uncertainty)
        self.electron_density_NA_per_cm3 = float(electron_density_NA_per_cm3)
        self.form_factor = form_factor
        self.sin2_theta_w = float(sin2_theta_w)
        self.target = target("Xe")
        self._channels: dict[str, tuple[Channel, ...]] = {}

    # --- data ----------------------------------------------------------------------------
    @cached_property
    def model(self) -> likelihood.Model:
        """Observed counts, backgrounds and nuisance directions (``likelihood.Model``).

        The flux and the signal-efficiency nuisances both scale the signal (θ_Φ σ_Φ s₀ and
        θ_ε σ_ε s₀): two unit Gaussians along one direction are one of width
        √(σ_Φ² + σ_ε²), the ``flux`` nuisance of the model (``likelihood``)."""
        width = float(np.hypot(self.flux.relative_uncertainty,
                               self.signal_efficiency_uncertainty))
        return likelihood.build_model(self.runs, width, self.background_uncertainty)

    def _likelihood_model(self, flux_free: bool) -> tuple[likelihood.Model, bool]:
        """(model, flux_free for ``kernel.profile``): with the flux free, the signal keeps
        the efficiency nuisance alone (width σ_ε) if there is one."""
        if flux_free and self.signal_efficiency_uncertainty > 0.0:
            return replace(self.model, flux_uncertainty=self.signal_efficiency_uncertainty), False
        return self.model, flux_free

    @property
    def n_bins(self) -> int:
        """81 per selected run."""
        return data.BINS_PER_RUN * len(self.runs)

    @property
    def signal_nodes(self) -> int:
        """5: the signal at the yield nodes ``response.YIELD_NODES``."""
        return len(response.YIELD_NODES)

    @property
    def observed(self) -> NDArray:
        """Observed events per bin, runs in release order, (n_bins,)."""
        return self.model.observed

    @property
    def background(self) -> NDArray:
        """Nominal AC + ER + neutron counts per bin, (n_bins,)."""
        return self.model.background

    # --- signal ----------------------------------------------------------------------------
    def channels(self, quenching: str | None = None) -> tuple[Channel, ...]:
        """One CEvNS channel per xenon isotope (cached; no quenching choice)."""
        q = self.check_quenching(quenching)
        if q not in self._channels:
            self._channels[q] = self._build_channels()
        return self._channels[q]

    def _build_channels(self) -> tuple[Channel, ...]:
        t_MeV, _ = response.recoil_grid_MeV()
        t_MeV.setflags(write=False)
        energy, shape = b8_spectrum()
        fluence = self.flux.flux_per_cm2_s * SECONDS_PER_YEAR  # per cm² per year
        fractions = flavour_fractions(
            energy, electron_density_NA_per_cm3=self.electron_density_NA_per_cm3)
        tonne_atoms = TONNE_g / self.target.mean_atomic_mass_g_per_mol * units.avogadro_per_mol
        meta = {"form_factor": self.form_factor, "form_factor_options": {},
                "sin2_theta_w": self.sin2_theta_w}
        out = []
        for nucleus, fraction in self.target.isotopes:
            emin = min_neutrino_energy_MeV(t_MeV, nucleus.mass_MeV)
            moments = np.stack([tabulated_flux_moments(energy, fluence * shape * f, emin)
                                for f in fractions])
            resp = response.response_matrix(tonne_atoms * fraction, self.runs)
            for a in (moments, resp):
                a.setflags(write=False)
            out.append(Channel(f"cevns_{nucleus.name}", "nucleus", nucleus, B8_FLAVOURS,
                               t_MeV, moments, resp, dict(meta)))
        return tuple(out)

    def sm_signal(self, quenching: str | None = None) -> NDArray:
        """SM ⁸B CEvNS counts at the yield nodes, (signal_size,)."""
        return self.expected_counts(sm_rates(self.channels(quenching)), quenching)

    def nominal(self, signal: NDArray) -> NDArray:
        """The nominal-yield part (node 0) of signals (..., signal_size) → (..., n_bins)."""
        return np.asarray(signal)[..., : self.n_bins]

    # --- likelihood ----------------------------------------------------------------------
    def profile(self, signal: NDArray, *, flux_free: bool = False) -> ProfileResult:
        """Profiled χ² and best-fit nuisances (``likelihood.NUISANCES``) for signals
        (..., signal_size); ``flux_free``: without the flux prior (see ``kernel``; θ_flux is
        then the signal-efficiency pull, 0 without that nuisance)."""
        s = self.check_signal(signal)
        batch = s.shape[:-1]
        flat = s.reshape(-1, self.signal_nodes, self.n_bins)
        model, free = self._likelihood_model(flux_free)
        res = kernel.profile(model, flat, flux_free=free)
        return ProfileResult(
            chi2=res.chi2.reshape(batch),
            theta=res.theta.reshape(batch + (len(likelihood.NUISANCES),)),
            converged=res.converged.reshape(batch),
            iterations=res.iterations.reshape(batch),
        )

    def chi2(self, signal: NDArray) -> NDArray:
        """χ² profiled over the six nuisances for signals (..., signal_size) → (...)."""
        return self.profile(signal).chi2

    # --- pseudo-experiments (docs/feldman-cousins.md) -----------------------------------------
    def toy_data(self, signal: NDArray, rng: np.random.Generator, n_toys: int) -> NDArray:
        """Pseudo-data at the nuisances' conditional best fit θ̂ for ``signal``
        (signal_size,): rows = [counts ~ Poisson(μ(θ̂)) (n_bins), pull centres ~ N(θ̂_p, 1)
        (6, ``likelihood.NUISANCES`` order; the flux centre stays 0 without a flux prior)]."""
        s = self.check_signal(signal)
        theta = self.profile(s[None]).theta[0]
        nodes = s.reshape(self.signal_nodes, self.n_bins)
        mu = np.maximum(self.model.expected(nodes, theta), 0.0)
        counts = rng.poisson(mu, size=(n_toys, mu.size)).astype(float)
        centres = rng.normal(theta, 1.0, size=(n_toys, theta.size))
        if not self.model.flux_uncertainty > 0.0:
            centres[:, list(likelihood.NUISANCES).index("flux")] = 0.0
        return np.hstack([counts, centres])

    def _toy_attributes(self, values: NDArray) -> dict:
        observed = np.array(values[:self.n_bins], dtype=float)
        centres = np.array(values[self.n_bins:], dtype=float)
        for a in (observed, centres):
            a.setflags(write=False)
        return {"model": replace(self.model, observed=observed, pull_centres=centres)}

    def _asimov_attributes(self, quenching: str) -> dict:
        """Observed counts → s_SM + B at nominal nuisances (node 0 of the SM signal)."""
        model = self.model
        asimov = self.nominal(self.sm_signal(quenching)) + model.background
        asimov.setflags(write=False)
        new = likelihood.Model(model.runs, asimov, model.components, model.neutron_nodes,
                               model.flux_uncertainty, model.background_uncertainty)
        return {"model": new}

    # --- the ⁸B flux measurement and the predict summary ----------------------------------
    def flux_scan(self, strengths: NDArray, quenching: str | None = None) -> NDArray:
        """χ²(Φ = strength × Φ_ref) with the flux free (no flux prior), one batched profile."""
        mu = np.asarray(strengths, dtype=float)
        return self.profile(mu[..., None] * self.sm_signal(quenching), flux_free=True).chi2

    def flux_fit(self, quenching: str | None = None, *, max_strength: float = 4.0,
                 n: int = 801) -> dict:
        """Best-fit ⁸B flux, its Δχ² = 1 interval (linear interpolation between grid points)
        and the significance √(χ²(0) − χ²_min) of the signal over background only."""
        mu = np.linspace(0.0, max_strength, n)
        scan = self.flux_scan(mu, quenching)
        best = int(np.argmin(scan))
        delta = scan - scan[best] - 1.0
        above = np.flatnonzero(delta >= 0.0)
        left, right = above[above < best], above[above > best]

        def crossing(i: int, j: int) -> float:  # Δχ² = 1 between grid points i and j
            return float(mu[i] + (mu[j] - mu[i]) * delta[i] / (delta[i] - delta[j]))

        lower = crossing(left[-1], left[-1] + 1) if left.size else None
        upper = crossing(right[0], right[0] - 1) if right.size else None
        phi = self.flux.flux_per_cm2_s
        return {
            "strength_best_fit": float(mu[best]),
            "flux_best_fit_per_cm2_s": float(mu[best] * phi),
            "flux_1sigma_per_cm2_s": [None if lower is None else lower * phi,
                                      None if upper is None else upper * phi],
            "significance_sigma": float(np.sqrt(max(scan[0] - scan[best], 0.0))),
            "chi2_best_fit": float(scan[best]),
        }

    def fitted_components(self, quenching: str | None = None) -> dict[str, NDArray]:
        """Expected counts per bin (n_bins,) of ⁸B CEvNS, AC, ER and neutrons at the best fit
        with the flux free (tly, tqy shifts included in the signal and neutron parts)."""
        model, _ = self._likelihood_model(flux_free=True)
        sm = self.sm_signal(quenching).reshape(self.signal_nodes, self.n_bins)
        signal = self.flux_fit(quenching)["strength_best_fit"] * sm
        theta = self.profile(signal.reshape(-1), flux_free=True).theta
        without = model.expected(0.0 * signal, theta)
        parts = {"8B CEvNS": model.expected(signal, theta) - without}
        for name, sigma in zip(("ac", "er"), theta[3:5], strict=True):
            parts[name.upper()] = model.components[name] * (
                1.0 + sigma * model.background_uncertainty[name])
        parts["neutron"] = without - parts["AC"] - parts["ER"]
        return parts

    def flux_averaged_cross_section_cm2(self) -> float:
        """⟨σ⟩ per xenon nucleus (isotope average) over the ⁸B spectrum, no threshold."""
        energy, shape = b8_spectrum()
        opts = {"form_factor_name": self.form_factor, "sin2_theta_w": self.sin2_theta_w}
        keep = shape > 0
        sigma = sum(f * cevns_total_cross_section_cm2(energy[keep], nuc, **opts)
                    for nuc, f in self.target.isotopes)
        return float(np.trapezoid(shape[keep] * sigma, energy[keep])
                     / np.trapezoid(shape[keep], energy[keep]))

    def summary(self, quenching: str | None = None) -> dict:
        """SM prediction, data and fits for ``nubound predict xenonnt_b8 --json``."""
        q = self.check_quenching(quenching)
        sm = self.sm_signal(q)
        sm0 = self.nominal(sm)
        fit = self.flux_fit(q)
        chi2_sm, chi2_bkg = self.chi2(np.stack([sm, np.zeros_like(sm)]))
        per_run = sm0.reshape(len(self.runs), data.BINS_PER_RUN).sum(axis=1)
        best = self.profile(fit["strength_best_fit"] * sm, flux_free=True)
        return {
            "experiment": self.name,
            "quenching": q,
            "data": self.data_kind,
            "runs": list(self.runs),
            "flux_normalisation": self.flux.name,
            "flux_per_cm2_s": self.flux.flux_per_cm2_s,
            "exposure_tonne_year": float(sum(data.EXPOSURE_TONNE_YEAR[r] for r in self.runs)),
            "flux_averaged_cross_section_cm2": self.flux_averaged_cross_section_cm2(),
            "cevns_events": float(sm0.sum()),
            "cevns_events_by_run": {r: float(v) for r, v in zip(self.runs, per_run,
                                                                  strict=True)},
            "electron_events": 0.0,
            "background_events": float(self.background.sum()),
            "background_events_by_source": {
                k: float(v.sum()) for k, v in self.model.components.items()},
            "observed_events": float(self.observed.sum()),
            "n_bins": self.n_bins,
            "chi2_sm": float(chi2_sm),
            "chi2_background_only": float(chi2_bkg),
            "signal_strength_best_fit": fit["strength_best_fit"],
            "flux_best_fit_per_cm2_s": fit["flux_best_fit_per_cm2_s"],
            "flux_1sigma_per_cm2_s": fit["flux_1sigma_per_cm2_s"],
            "cevns_events_best_fit": float(fit["strength_best_fit"] * sm0.sum()),
            "cevns_significance_sigma": fit["significance_sigma"],
            "nuisances_best_fit": dict(zip(likelihood.NUISANCES,
                                           map(float, best.theta), strict=True)),
        }
