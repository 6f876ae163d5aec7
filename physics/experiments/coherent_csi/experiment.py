"""COHERENT CsI[Na] 2021 (full dataset; Phys. Rev. Lett. 129, 081801 (2022), arXiv:2110.07730).

Signal: CEvNS on ¹³³Cs and ¹²⁷I and ν–e scattering on their electrons (stepping Z_eff), from
the SNS π-DAR flux (``fluxes.pion_dar``), one channel per target and flux component (prompt νμ;
delayed νe + ν̄μ) because the components arrive at different times. The response maps a true
recoil to the 9 PE × 11 time analysis bins (flattened, ``i_pe * 11 + i_time``): quenching
polynomial → gamma-smeared photoelectrons × ε_E → arrival-time fraction × ε_t
(``coherent_csi.response``). Backgrounds: steady state from the anti-coincidence window, BRN
and NIN from the release's PDFs (``coherent_csi.data``).

Likelihood (docs/statistics.md#poisson): binned Poisson χ² with Gaussian pulls on four linear
nuisances,
μ = (1+θ_s) S + (1+θ_ss) SS + (1+θ_brn) BRN + (1+θ_nin) NIN, profiled exactly and batched by
``statistics.profile.profile_linear_poisson``. Prior widths:

- θ_s: 12.3 % = 42/341, the published experimental uncertainty of the SM prediction
  (arXiv:2110.07730: 341 ± 11 (th) ± 42 (exp); it is dominated by the 10 % flux and includes
  the quenching and efficiency uncertainties). Option ``signal_norm_sigma``.
- θ_ss: constrained by the AC window, which has the C window's exposure: its N_AC = 1295 events
  are Poisson with mean N_AC (1+θ_ss). Default ``ss_constraint="poisson"`` adds exactly that
  term, 2[N_AC θ_ss − N_AC ln(1+θ_ss)], as one extra Poisson "bin" (observed N_AC, expectation
  linear in θ_ss), so the same batched profiler handles it; ``"gaussian"`` uses its quadratic
  approximation, a pull of width 1/√N_AC = 2.78 % (the two differ by ≈ (2/3) N_AC |θ_ss|³,
  ≈ 0.1 in χ² at a 2σ pull).
- θ_brn: 4.6/18.4 = 25 %; θ_nin: 2.0/5.6 = 36 % (``coherent_csi.data``).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from nubound.physics import units
from nubound.physics.atomic_binding import effective_electron_count
from nubound.physics.cross_sections.cevns import cevns_total_cross_section_cm2
from nubound.physics.cross_sections.kinematics import max_recoil_MeV, min_neutrino_energy_MeV
from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments.base import Channel, Experiment
from nubound.physics.experiments.coherent_csi import data as csi_data
from nubound.physics.experiments.coherent_csi import response as resp
from nubound.physics.fluxes.pion_dar import (
    COHERENT_CSI_2021,
    MICHEL_ENDPOINT_MeV,
    PROMPT_NEUTRINO_ENERGY_MeV,
    SNSBeam,
    michel_nue_pdf,
    michel_numubar_pdf,
    sns_flux_moments,
)
from nubound.physics.form_factors import FORM_FACTORS
from nubound.physics.nuclei import NUCLIDES, target
from nubound.physics.statistics.profile import (
    EXPERIMENT_TOLERANCE,
    ProfileResult,
    nearest_reference,
    profile_linear_poisson,
    reference_responses,
)

# arXiv:2110.07730: SM prediction 341 ± 11 (theory) ± 42 (experiment) CEvNS events
SIGNAL_NORM_SIGMA = 42.0 / 341.0
DETECTOR_MASS_kg = 14.6  # CsI[Na] crystal (docs/experiments/coherent_csi.md#data)
COMPONENTS = {"prompt": ("numu",), "delayed": ("nue", "numubar")}
NUCLEI = {"Cs": "Cs133", "I": "I127"}
NUISANCES = ("signal", "steady_state", "brn", "nin")
SS_CONSTRAINTS = ("poisson", "gaussian")

_NUCLEAR_LOW_MeV = 0.3e-3  # below 0.3 keVnr the light is < 0.3 PE on average
_ELECTRON_RANGE_MeV = (0.05e-3, 15e-3)  # E_ee ≥ 15 keVee gives ≫ 60 PE


class CoherentCsI(Experiment):
    """COHERENT CsI[Na] 2021, binned in PE × arrival time (see the module docstring).

    Parameters
    ----------
    mass_kg : CsI mass (default 14.6 kg).
    beam : SNS exposure (default ``pion_dar.COHERENT_CSI_2021``: 3.198e23 POT, 0.0848 ν/flavour
        /POT, 19.3 m).
    form_factor : ``helm`` (default) or ``klein_nystrand``.
    efficiency : energy-efficiency curve of the release, ``nominal``, ``up`` or ``down``.
    pulse_mean_ns, pulse_sigma_ns : proton-pulse timing (docs/physics.md#pion-decay-at-rest). The
    release's NIN
        timing PDF, produced by the delayed νe, fits the delayed-neutrino profile with a
        mean of ≈ 470 ns (the neutrons' transit adds a little), confirming the t_rec origin.
    signal_norm_sigma : prior width of the signal normalisation (default 42/341).
    ss_template : ``factorized`` (default) or ``anticoincidence_2d`` (``coherent_csi.data``).
    ss_constraint : ``poisson`` (default) or ``gaussian`` (module docstring).
    include_electrons : add the ν–e channels (default True).
    """

    name = "coherent_csi"
    quenching_choices = resp.QUENCHING_CHOICES
    default_quenching = "nominal"

    def __init__(
        self,
        *,
        mass_kg: float = DETECTOR_MASS_kg,
        beam: SNSBeam = COHERENT_CSI_2021,
        form_factor: str = "helm",
        efficiency: str = "nominal",
        pulse_mean_ns: float = 440.0,
        pulse_sigma_ns: float = 150.0,
        signal_norm_sigma: float = SIGNAL_NORM_SIGMA,
        ss_template: str = "factorized",
        ss_constraint: str = "poisson",
        include_electrons: bool = True,
    ) -> None:
        if not mass_kg > 0:
            raise PhysicsInputError(f"coherent_csi: mass_kg must be > 0, got {mass_kg}")
        if not isinstance(beam, SNSBeam):
            raise PhysicsInputError("coherent_csi: beam must be a pion_dar.SNSBeam")
        if not signal_norm_sigma > 0:
            raise PhysicsInputError(
                f"coherent_csi: signal_norm_sigma must be > 0, got {signal_norm_sigma}"
            )
        if not pulse_sigma_ns > 0:
            raise PhysicsInputError(
                f"coherent_csi: pulse_sigma_ns must be > 0, got {pulse_sigma_ns}"
            )
        resp.check_choice("form_factor", form_factor, tuple(FORM_FACTORS))
        resp.check_choice("efficiency", efficiency, resp.EFFICIENCY_CHOICES)
        resp.check_choice("ss_template", ss_template, csi_data.SS_TEMPLATES)
        resp.check_choice("ss_constraint", ss_constraint, SS_CONSTRAINTS)
        self.mass_kg = float(mass_kg)
        self.beam = beam
        self.form_factor = form_factor
        self.efficiency = efficiency
        self.pulse_mean_ns = float(pulse_mean_ns)
        self.pulse_sigma_ns = float(pulse_sigma_ns)
        self.include_electrons = bool(include_electrons)
        self.n_pe = len(resp.PE_EDGES) - 1
        self.n_time = len(resp.TIME_EDGES_us) - 1
        self._observed = csi_data.binned_events("C").ravel()
        self.anticoincidence_events = float(csi_data.binned_events("AC").sum())
        self.background_components = {
            "steady_state": csi_data.steady_state_template(ss_template).ravel(),
            "brn": csi_data.beam_background_template("brn").ravel(),
            "nin": csi_data.beam_background_template("nin").ravel(),
        }
        self.background = sum(self.background_components.values())
        self.ss_constraint = ss_constraint
        poisson_ss = ss_constraint == "poisson"
        self.prior_sigma = np.array([
            signal_norm_sigma,
            np.inf if poisson_ss else 1.0 / np.sqrt(self.anticoincidence_events),
            csi_data.BRN_SIGMA_EVENTS / csi_data.BRN_EVENTS,
            csi_data.NIN_SIGMA_EVENTS / csi_data.NIN_EVENTS,
        ])
        # fit arrays: the 99 C bins, plus the AC count as a Poisson "bin" for the exact constraint
        n_ac = self.anticoincidence_events
        extra = [[n_ac], [0.0], [0.0]] if poisson_ss else np.zeros((3, 0))
        self._fit_observed = np.concatenate([self._observed, [n_ac] if poisson_ss else []])
        self._fit_background_directions = np.hstack(
            [np.stack(list(self.background_components.values())), extra]
        )
        self._fit_background = self._fit_background_directions.sum(axis=0)
        self._n_extra = 1 if poisson_ss else 0
        self._time_fractions = {
            comp: resp.neutrino_time_fractions(
                comp, pulse_mean_ns=self.pulse_mean_ns, pulse_sigma_ns=self.pulse_sigma_ns
            )
            for comp in COMPONENTS
        }
        self._channel_cache: dict[str, tuple[Channel, ...]] = {}

    # --- interface -----------------------------------------------------------------------
    @property
    def n_bins(self) -> int:
        """9 PE bins × 11 time bins."""
        return self.n_pe * self.n_time

    @property
    def observed(self) -> NDArray:
        """Beam-coincident counts in the analysis bins (PE < 60, 0 ≤ t < 6 µs)."""
        return self._observed

    @property
    def n_molecules(self) -> float:
        """CsI formula units = Cs nuclei = I nuclei in the crystal."""
        molar_g = target("Cs").mean_atomic_mass_g_per_mol + target("I").mean_atomic_mass_g_per_mol
        return self.mass_kg * units.g_per_kg / molar_g * units.avogadro_per_mol

    def channels(self, quenching: str | None = None) -> tuple[Channel, ...]:
        """CEvNS (Cs, I) and ν–e (Cs, I) channels for the prompt and delayed flux (cached)."""
        quenching = self.check_quenching(quenching)
        if quenching not in self._channel_cache:
            self._channel_cache[quenching] = self._build_channels(quenching)
        return self._channel_cache[quenching]

    # --- Asimov data -----------------------------------------------------------------------
    def _asimov_attributes(self, quenching: str) -> dict:
        """C-window counts → SM signal (CEvNS + ν–e) + backgrounds at nominal nuisances.

        Used by ``Experiment.asimov``. The AC count stays N_AC: its expectation at θ_ss = 0.
        """
        data = self.sm_signal(quenching) + self.background
        data.setflags(write=False)
        fit = np.concatenate([data, self._fit_observed[self.n_bins:]])
        fit.setflags(write=False)
        return {"_observed": data, "_fit_observed": fit,
                "_references": self._responses(fit, self.sm_signal(quenching))}

    # --- pseudo-experiments (docs/feldman-cousins.md) ---------------------------------------
    _pull_centres: NDArray | None = None  # toys: fluctuated centres of the Gaussian pulls

    def toy_data(self, signal: NDArray, rng: np.random.Generator, n_toys: int) -> NDArray:
        """Pseudo-data at the nuisances' conditional best fit θ̂ for ``signal`` (n_bins,):
        rows = [C-window counts ~ Poisson(μ(θ̂)), the AC count ~ Poisson(N_AC (1+θ̂_ss)) if the
        constraint is Poisson, pull centres ~ N(θ̂_p, σ_p) (0 for the unconstrained ones)]."""
        s = self._fit_signal(np.asarray(signal, dtype=float)[None])[0]
        theta = self.profile(s[None, :self.n_bins]).theta[0]
        mu = s * (1.0 + theta[0]) + (1.0 + theta[1:]) @ self._fit_background_directions
        counts = rng.poisson(np.maximum(mu, 0.0), size=(n_toys, mu.size)).astype(float)
        finite = np.isfinite(self.prior_sigma)
        centres = np.zeros((n_toys, len(NUISANCES)))
        centres[:, finite] = rng.normal(theta[finite], self.prior_sigma[finite],
                                        size=(n_toys, int(finite.sum())))
        return np.hstack([counts, centres])

    def _toy_attributes(self, values: NDArray) -> dict:
        n_fit = self.n_bins + self._n_extra
        return {"_observed": values[:self.n_bins], "_fit_observed": values[:n_fit],
                "_pull_centres": values[n_fit:n_fit + len(NUISANCES)]}

    # --- likelihood --------------------------------------------------------------------------
    def _fit_signal(self, signal: NDArray) -> NDArray:
        """Validated signal padded with zeros in the AC bin (if the constraint is Poisson)."""
        s = self.check_signal(signal)
        pad = np.zeros(s.shape[:-1] + (self._n_extra,))
        return np.concatenate([s, pad], axis=-1)

    def _responses(self, fit_observed: NDArray, sm_signal: NDArray) -> tuple:
        """θ̂ to first order around multiples of the SM signal: the profile's starts."""
        return reference_responses(
            fit_observed, self._fit_background, self._fit_signal(sm_signal), self.prior_sigma,
            scaled_directions=np.ones((1, self._fit_background.size)),
            shared_directions=self._fit_background_directions,
        )

    @cached_property
    def _references(self) -> tuple:
        """``_responses`` of the observed data (any start gives the same minimum; these
        save Newton steps)."""
        return self._responses(self._fit_observed, self.sm_signal())

    def profile(self, signal: NDArray, *, free_signal_norm: bool = False) -> ProfileResult:
        """Profiled fit of μ = S + B + Σ θ_p D_p (θ: signal, steady state, BRN, NIN); with
        the signal's prior, started from the nearest reference's linear response."""
        s = self._fit_signal(signal)
        sigma = self.prior_sigma.copy()
        flat = s.reshape(-1, s.shape[-1])
        # the kernel fits θ'_s = 1 + θ_s (pull centred at 1): μ_signal = θ'_s s has no
        # cancellation in 1 + θ_s when a huge signal (an excluded coupling) is scaled to ≈ 0
        shift = np.zeros(len(sigma))
        shift[0] = 1.0
        if free_signal_norm:  # (the references assume the prior: start at the centres)
            sigma[0] = np.inf
            start = {}
        else:
            offsets, gain, reference = nearest_reference(flat.sum(axis=-1), self._references)
            start = {"start": offsets + shift, "start_gain": gain, "start_reference": reference}
        # θ_s: direction s (scaled ones), the backgrounds' directions are the same for all s
        res = profile_linear_poisson(
            self._fit_observed, self._fit_background, None, sigma,
            scaled_directions=np.ones((1, s.shape[-1])), scale=flat,
            shared_directions=self._fit_background_directions,
            prior_centre=shift if self._pull_centres is None else shift + self._pull_centres,
            tolerance=EXPERIMENT_TOLERANCE, **start,
        )
        batch = s.shape[:-1]
        return ProfileResult(
            chi2=res.chi2.reshape(batch),
            theta=(res.theta - shift).reshape(batch + shift.shape),
            converged=res.converged.reshape(batch), iterations=res.iterations.reshape(batch),
        )

    def best_fit_components(self, signal: NDArray, *, free_signal_norm: bool = True) -> dict:
        """Signal and backgrounds scaled to their profiled best fit (one signal, (n_bins,))."""
        s = self.check_signal(signal)
        theta = self.profile(s, free_signal_norm=free_signal_norm).theta
        out = {"signal": s * (1.0 + theta[0])}
        for i, (name, tpl) in enumerate(self.background_components.items(), start=1):
            out[name] = tpl * (1.0 + theta[i])
        out["theta"] = dict(zip(NUISANCES, map(float, theta), strict=True))
        return out

    def profile_background_only(self, signal: NDArray) -> ProfileResult:
        """Fit with the signal fixed as given and only the background normalisations free."""
        s = self._fit_signal(signal)
        return profile_linear_poisson(
            self._fit_observed, s + self._fit_background, None, self.prior_sigma[1:],
            shared_directions=self._fit_background_directions, tolerance=EXPERIMENT_TOLERANCE,
        )

    # --- predictions -----------------------------------------------------------------------
    def sm_signal_by_channel(self, quenching: str | None = None) -> dict[str, NDArray]:
        """SM expected counts per channel, (n_bins,) each."""
        from nubound.physics.rates import sm_rates

        chans = self.channels(quenching)
        rates = sm_rates(chans)
        return {ch.name: rates[ch.name].sum(axis=0) @ ch.response for ch in chans}

    def sm_signal(self, quenching: str | None = None) -> NDArray:
        """SM expected counts (CEvNS + ν–e) in the analysis bins, (n_bins,)."""
        return sum(self.sm_signal_by_channel(quenching).values())

    def _build_channels(self, quenching: str) -> tuple[Channel, ...]:
        n_targets = self.n_molecules
        out: list[Channel] = []
        meta = {"form_factor": self.form_factor, "form_factor_options": {},
                "sin2_theta_w": units.sin2_theta_w}
        for element, nuclide in NUCLEI.items():
            nuc = NUCLIDES[nuclide]
            t, w = self.nuclear_recoil_grid(nuclide)
            pe_prob = resp.pe_bin_probabilities(
                resp.electron_equivalent_energy_keV(t, quenching), efficiency=self.efficiency
            )
            out.extend(self._components(f"cevns_{element}", "nucleus", nuc, t, nuc.mass_MeV,
                                        n_targets * w, pe_prob, meta))
        if self.include_electrons:
            out.extend(self._electron_channels(n_targets, meta))
        return tuple(out)

    @staticmethod
    def nuclear_recoil_grid(nuclide: str) -> tuple[NDArray, NDArray]:
        """Recoil nodes and weights [MeV]; breakpoints at the prompt and Michel endpoints."""
        mass = NUCLIDES[nuclide].mass_MeV
        breakpoints = [
            _NUCLEAR_LOW_MeV,
            float(max_recoil_MeV(PROMPT_NEUTRINO_ENERGY_MeV, mass)),
            float(max_recoil_MeV(MICHEL_ENDPOINT_MeV, mass)),
        ]
        return resp.gauss_legendre_grid(breakpoints, panel_MeV=1e-3)

    @staticmethod
    def electron_recoil_grid(element: str) -> tuple[NDArray, NDArray]:
        """Electron-recoil nodes and weights [MeV]; breakpoints at the Z_eff steps."""
        lo, hi = _ELECTRON_RANGE_MeV
        probe = np.linspace(lo, hi, 14951)  # 1-eV probe of the Z_eff steps → breakpoints
        z = effective_electron_count(element, probe)
        steps = probe[1:][np.diff(z) != 0]
        return resp.gauss_legendre_grid([lo, *steps, hi], panel_MeV=0.5e-3)

    def _electron_channels(self, n_targets: float, meta: dict) -> list[Channel]:
        out = []
        for element in NUCLEI:
            t, w = self.electron_recoil_grid(element)
            pe_prob = resp.pe_bin_probabilities(t * units.keV_per_MeV, efficiency=self.efficiency)
            weight = n_targets * w * effective_electron_count(element, t)
            out.extend(self._components(f"electron_{element}", "electron", element, t,
                                        units.electron_mass_MeV, weight, pe_prob, meta))
        return out

    def _components(self, name: str, kind: str, particle, t: NDArray, target_mass_MeV: float,
                    weight: NDArray, pe_prob: NDArray, meta: dict) -> list[Channel]:
        """One channel per SNS flux component (prompt, delayed) of one target particle."""
        emin = min_neutrino_energy_MeV(t, target_mass_MeV)
        return [
            Channel(
                name=f"{name}_{comp}", kind=kind, particle=particle, flavours=flavours,
                recoil_energy_MeV=t,
                flux_moments=np.stack([sns_flux_moments(self.beam, f, emin) for f in flavours]),
                response=self._response(weight, pe_prob, comp), meta=dict(meta),
            )
            for comp, flavours in COMPONENTS.items()
        ]

    def _response(self, weight: NDArray, pe_prob: NDArray, component: str) -> NDArray:
        """weight (nT,) × P(PE bin) (nT, n_pe) ⊗ time fractions (n_time,) → (nT, n_bins)."""
        frac = self._time_fractions[component]
        return (weight[:, None, None] * pe_prob[:, :, None] * frac[None, None, :]).reshape(
            weight.size, -1
        )

    # --- summary ---------------------------------------------------------------------------
    def flux_averaged_cross_section_cm2(self, n_energy: int = 200) -> float:
        """Total CEvNS σ averaged over the SNS flux (all flavours, equal fluence), mean of Cs, I."""
        x, wx = np.polynomial.legendre.leggauss(n_energy)
        e = 0.5 * MICHEL_ENDPOINT_MeV * (x + 1.0)
        w = 0.5 * MICHEL_ENDPOINT_MeV * wx
        opts = {"form_factor_name": self.form_factor}
        per_nucleus = []
        for nuclide in NUCLEI.values():
            nuc = NUCLIDES[nuclide]
            sig = cevns_total_cross_section_cm2(e, nuc, **opts)
            prompt = cevns_total_cross_section_cm2(PROMPT_NEUTRINO_ENERGY_MeV, nuc, **opts)[0]
            delayed = np.sum(w * sig * (michel_nue_pdf(e) + michel_numubar_pdf(e)))
            per_nucleus.append((prompt + delayed) / 3.0)
        return float(np.mean(per_nucleus))

    def signal_strength_scan(
        self, quenching: str | None = None, strengths: NDArray | None = None
    ) -> tuple[NDArray, NDArray]:
        """χ²(μ) for signal μ × SM (signal-normalisation prior off: a measurement), batched."""
        mu = np.linspace(0.0, 2.0, 2001) if strengths is None else np.asarray(strengths, float)
        chi2 = self.profile_background_only(mu[:, None] * self.sm_signal(quenching)).chi2
        return mu, chi2

    def summary(self, quenching: str | None = None) -> dict:
        """JSON-ready SM summary for ``nubound predict coherent_csi``."""
        quenching = self.check_quenching(quenching)
        by_channel = self.sm_signal_by_channel(quenching)
        cevns = sum(v for k, v in by_channel.items() if k.startswith("cevns"))
        electron = sum(
            (v for k, v in by_channel.items() if k.startswith("electron")), np.zeros(self.n_bins)
        )
        signal = cevns + electron
        mu, chi2_mu = self.signal_strength_scan(quenching)
        best = int(np.argmin(chi2_mu))
        inside = mu[chi2_mu <= chi2_mu[best] + 1.0]
        chi2_zero = float(self.profile_background_only(np.zeros(self.n_bins)).chi2)
        return {
            "experiment": self.name,
            "quenching": quenching,
            "data": self.data_kind,
            "form_factor": self.form_factor,
            "fluence_per_flavour_cm2": self.beam.fluence_per_flavour_cm2,
            "flux_averaged_cross_section_cm2": self.flux_averaged_cross_section_cm2(),
            "cevns_events": float(cevns.sum()),
            "cevns_events_by_channel": {
                k: float(v.sum()) for k, v in by_channel.items() if k.startswith("cevns")
            },
            "electron_events": float(electron.sum()),
            "background_events": float(self.background.sum()),
            "background_events_by_source": {
                k: float(v.sum()) for k, v in self.background_components.items()
            },
            "observed_events": float(self._observed.sum()),
            "chi2_sm": float(self.chi2(signal)),
            "chi2_background_only": float(self.chi2(np.zeros(self.n_bins))),
            "signal_strength_best_fit": float(mu[best]),
            "signal_strength_interval_1sigma": [float(inside.min()), float(inside.max())],
            "cevns_events_best_fit": float(mu[best] * cevns.sum()),
            "delta_chi2_background_only": chi2_zero - float(chi2_mu[best]),
            "cevns_significance_sigma": float(np.sqrt(max(chi2_zero - chi2_mu[best], 0.0))),
            "n_bins": self.n_bins,
        }
