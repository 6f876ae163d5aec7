"""Dresden-II reactor CEvNS on germanium (Colaresi et al., PRL 129, 211802 (2022),
arXiv:2202.09672), analysed as in arXiv:2202.10829 (docs/experiments/dresden_ii.md; inputs in
docs/experiments/dresden_ii.md#data).

Units and conventions of this experiment (the shared contract, ``experiments.base``):

- ``flux_moments`` are fluences over the whole Rx-ON exposure (Φ × 96.4 d × 86400 s/d), and the
  responses include the number of target atoms in 2.924 kg, so ``expected_counts`` returns
  **counts over the Rx-ON exposure** in the 130 bins of 10 eVee (0.2–1.5 keVee).
- ``observed`` is the released Rx-ON rate × 96.4 days (acceptance-corrected, not integers).
- ``chi2(signal)`` takes signals in counts over the exposure, divides them by the 96.4 days and
  evaluates the Gaussian χ² of docs/experiments/dresden_ii.md#likelihood on rates per 10 eVee per
  day with the released σ
  (profiled over the seven background nuisances, ``dresden_ii.likelihood``).

Channels: one averaged Ge nucleus (Z = 32, mean N and mass; ⁷⁶Ge dropped by default like the
reference code, option ``include_ge76``), Klein–Nystrand form factor with R = 1.2 A^{1/3} fm,
a_k = 0.7 fm, sin²θ_W = 0.23868; and the Ge electrons (ν̄e–e, unquenched, stepping Z_eff).

Asimov data (``asimov(quenching)``, docs/statistics.md#asimov): rates n_i = S_i/96.4 d + b(E_i;
θ_nom) with
the released σ_i kept. S is the SM signal (CEvNS + ν–e) of the quenching choice; Dresden-II
has no external background prediction, so the nominal background θ_nom is the background fit
to the real Rx-ON data with the SM signal (``profile``), with a_M set to the centre of
its Gaussian pull, 1 (the fit gives 0.9995–1.0030), so that the profiled χ² of the SM signal on
the Asimov data is exactly 0 (residuals and pull vanish at θ = θ_nom).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from nubound.physics import units
from nubound.physics.atomic_binding import effective_electron_count
from nubound.physics.cross_sections.cevns import cevns_total_cross_section_cm2
from nubound.physics.cross_sections.kinematics import max_recoil_MeV, min_neutrino_energy_MeV
from nubound.physics.data import data_path
from nubound.physics.errors import DataFileError, PhysicsInputError
from nubound.physics.experiments.base import Channel, Experiment
from nubound.physics.experiments.dresden_ii.likelihood import (
    PARAMETER_NAMES,
    ProfiledChi2,
    background_rate,
)
from nubound.physics.experiments.dresden_ii.response import (
    MIN_IONISATION_keV,
    bin_probabilities,
    gauss_legendre_panels,
    log_panels,
)
from nubound.physics.fluxes import reactor
from nubound.physics.nuclei import averaged_nucleus, number_of_atoms, target
from nubound.physics.quenching_germanium import (
    QUENCHING_CHOICES,
    ionisation_energy_keV,
    recoil_energy_for_ionisation_keV,
)
from nubound.physics.rates import sm_rates
from nubound.physics.statistics.profile import ProfileResult

DATA_FILES = (
    "dresden-ii/data_release.txt",
    "dresden-ii/QF_Fef_YBe.txt",
    "dresden-ii/spectraMeVU235.txt",
    "dresden-ii/spectraMeVU238.txt",
    "dresden-ii/spectraMeVPu239.txt",
    "dresden-ii/spectraMeVPu241.txt",
    "dresden-ii/spectraMeVU238Ncapture.txt",
)
RX_ON_DAYS = 96.4  # arXiv:2202.09672
DETECTOR_MASS_kg = 2.924  # arXiv:2202.09672 (the release calls it "3 kg")
N_BINS = 130
BIN_WIDTH_keV = 0.010
FORM_FACTOR_OPTIONS = {"radius_coefficient_fm": 1.2, "range_fm": 0.7}  # reference code
ELECTRON_MAX_keV = 3.0  # far above 1.5 keVee + 10 σ
_N_PANELS, _N_NODES = 48, 8


def read_data_release(path) -> NDArray:
    """Read ``data_release.txt`` (130 × 5: E [keVee], Rx-ON, σ, Rx-OFF, σ per 10 eVee per day)."""
    try:
        table = np.loadtxt(path)
    except ValueError as exc:
        raise DataFileError(f"dresden-ii/data_release.txt: cannot parse ({exc})") from None
    if table.shape != (N_BINS, 5) or np.any(table[:, 2] <= 0):
        raise DataFileError(
            f"dresden-ii/data_release.txt: expected {N_BINS} rows × 5 columns with positive "
            f"errors, got shape {table.shape}"
        )
    return table


class DresdenII(Experiment):
    """Dresden-II Rx-ON spectrum, 0.2–1.5 keVee, with the reference analysis' choices.

    Parameters (keyword-only; defaults = the reference analysis)
    ----------
    include_ge76 : keep ⁷⁶Ge in the averaged nucleus (False: the reference code drops it).
    spectrum_model : reactor spectrum, ``reactor.SPECTRUM_MODELS`` (default ``reference``).
    neutron_capture : add the neutron-capture ν̄e to the electron channel (default False).
    truncate_resolution : truncate and renormalise the resolution Gaussian at 0 (default True).
    """

    name = "dresden_ii"
    quenching_choices = QUENCHING_CHOICES
    default_quenching = "fef"

    def __init__(
        self,
        *,
        include_ge76: bool = False,
        spectrum_model: str = "reference",
        neutron_capture: bool = False,
        truncate_resolution: bool = True,
    ) -> None:
        if spectrum_model not in reactor.SPECTRUM_MODELS:
            raise PhysicsInputError(
                f"dresden_ii: unknown spectrum_model '{spectrum_model}'; allowed: "
                + ", ".join(reactor.SPECTRUM_MODELS)
            )
        paths = {key: data_path(key) for key in DATA_FILES}  # hash-verifies all seven files
        self.table = read_data_release(paths["dresden-ii/data_release.txt"])
        self.include_ge76 = bool(include_ge76)
        self.spectrum_model = spectrum_model
        self.neutron_capture = bool(neutron_capture)
        self.truncate_resolution = bool(truncate_resolution)
        self.exposure_days = RX_ON_DAYS
        self.target = target("Ge" if self.include_ge76 else "Ge_no76")
        self.nucleus = averaged_nucleus(self.target)
        self.n_atoms = number_of_atoms(DETECTOR_MASS_kg, self.target)
        self.energy_keV = self.table[:, 0]
        self.bin_edges_keV = np.append(self.energy_keV - BIN_WIDTH_keV / 2,
                                       self.energy_keV[-1] + BIN_WIDTH_keV / 2)
        self.profiler = ProfiledChi2(self.energy_keV, self.table[:, 1], self.table[:, 2])
        self._channels: dict[str, tuple[Channel, ...]] = {}

    # --- contract -------------------------------------------------------------------------
    @property
    def n_bins(self) -> int:
        """130 bins of 10 eVee."""
        return N_BINS

    @property
    def observed(self) -> NDArray:
        """Rx-ON data as counts over the exposure (released rate × 96.4 days)."""
        return self.table[:, 1] * self.exposure_days

    @property
    def meta(self) -> dict:
        """Cross-section choices of the reference analysis, stored on every channel."""
        return {
            "form_factor": "klein_nystrand",
            "form_factor_options": dict(FORM_FACTOR_OPTIONS),
            "sin2_theta_w": units.sin2_theta_w_reference,
        }

    @property
    def fluence_scale_s(self) -> float:
        """Live time of the Rx-ON exposure in seconds."""
        return self.exposure_days * units.s_per_day

    def channels(self, quenching: str | None = None) -> tuple[Channel, ...]:
        """(nucleus channel "Ge", electron channel "electron") for one quenching choice."""
        q = self.check_quenching(quenching)
        if q not in self._channels:
            self._channels[q] = (self._nucleus_channel(q), self._electron_channel)
        return self._channels[q]

    def profile(self, signal: NDArray) -> ProfileResult:
        """Profiled χ², best-fit nuisances (order ``PARAMETER_NAMES``) and convergence for
        signals (..., 130) in counts over the Rx-ON exposure."""
        return self.profiler.profile(self.check_signal(signal) / self.exposure_days)

    def _asimov_attributes(self, quenching: str) -> dict:
        """Asimov table and profiler for ``quenching`` (module docstring: θ_nom, σ kept)."""
        counts = self.sm_counts(quenching)  # also builds the channels the Asimov copy shares
        signal = counts["Ge"] + counts["electron"]
        theta = np.array(self.profile(signal).theta, dtype=float)
        # a_M at its pull centre (docs/experiments/dresden_ii.md#likelihood)
        theta[PARAMETER_NAMES.index("a_M")] = 1.0
        rate = signal / self.exposure_days + background_rate(theta, self.energy_keV)
        table = self.table.copy()
        table[:, 1] = rate
        table.setflags(write=False)
        return {
            "table": table,
            "profiler": ProfiledChi2(self.energy_keV, rate, table[:, 2]),
            "asimov_nuisances": dict(zip(PARAMETER_NAMES, map(float, theta), strict=True)),
        }

    # --- pseudo-experiments (docs/feldman-cousins.md) ---------------------------------------
    def toy_data(self, signal: NDArray, rng: np.random.Generator, n_toys: int) -> NDArray:
        """Pseudo-data at the background's conditional best fit θ̂ for ``signal`` (130,) in
        counts over the exposure: Rx-ON rates ~ N(S/96.4 d + b(E; θ̂), σ_released), (n_toys,
        130). The a_M pull keeps its centre (1): it is not a measurement of this data set."""
        s = self.check_signal(signal)
        theta = self.profile(s).theta
        mean = s / self.exposure_days + background_rate(theta, self.energy_keV)
        return rng.normal(mean, self.table[:, 2], size=(n_toys, self.n_bins))

    def _toy_attributes(self, values: NDArray) -> dict:
        table = self.table.copy()
        table[:, 1] = values
        return {"table": table, "profiler": ProfiledChi2(self.energy_keV, values, table[:, 2])}

    # --- channels ------------------------------------------------------------------------
    def _nucleus_channel(self, quenching: str) -> Channel:
        m = self.nucleus.mass_MeV
        e_max = reactor.energy_grid_MeV(self.spectrum_model)[-1]
        t_min = recoil_energy_for_ionisation_keV(quenching, MIN_IONISATION_keV) / units.keV_per_MeV
        t_max = float(max_recoil_MeV(e_max, m))
        edges = log_panels(t_min, t_max, _N_PANELS)
        t, w = gauss_legendre_panels(edges, _N_NODES)
        e_ee = ionisation_energy_keV(quenching, t * units.keV_per_MeV)
        prob = bin_probabilities(e_ee, self.bin_edges_keV,
                                 truncate_resolution=self.truncate_resolution)
        moments = reactor.reactor_flux_moments(
            min_neutrino_energy_MeV(t, m), fluence_scale_s=self.fluence_scale_s,
            spectrum_model=self.spectrum_model,
        )
        return Channel("Ge", "nucleus", self.nucleus, ("nuebar",), t, moments[None],
                       self.n_atoms * w[:, None] * prob, self.meta)

    @cached_property
    def _electron_channel(self) -> Channel:
        me = units.electron_mass_MeV
        lo, hi = MIN_IONISATION_keV / units.keV_per_MeV, ELECTRON_MAX_keV / units.keV_per_MeV
        steps = np.array([1e-3, 0.0298, 0.1208, 0.1249, 0.1801, 1.217, 1.248, 1.4146]) * 1e-3
        edges = log_panels(lo, hi, _N_PANELS, extra=steps)
        t, w = gauss_legendre_panels(edges, _N_NODES)
        prob = bin_probabilities(t * units.keV_per_MeV, self.bin_edges_keV,
                                 truncate_resolution=self.truncate_resolution)
        zeff = effective_electron_count("Ge", t)
        moments = reactor.reactor_flux_moments(
            min_neutrino_energy_MeV(t, me), fluence_scale_s=self.fluence_scale_s,
            spectrum_model=self.spectrum_model, include_capture=self.neutron_capture,
        )
        return Channel("electron", "electron", "Ge", ("nuebar",), t, moments[None],
                       self.n_atoms * (zeff * w)[:, None] * prob, self.meta)

    # --- SM predictions and the summary ---------------------------------------------------
    def sm_counts(self, quenching: str | None = None) -> dict[str, NDArray]:
        """SM counts over the exposure per channel name, (130,) each."""
        chans = self.channels(quenching)
        rates = sm_rates(chans)
        return {ch.name: rates[ch.name].sum(axis=0) @ ch.response for ch in chans}

    def flux_averaged_cross_section_cm2(self) -> float:
        """∫Φσ_CEvNS/∫Φ over the whole reactor spectrum (no threshold), per nucleus."""
        e = reactor.energy_grid_MeV(self.spectrum_model, n_fine=1000)
        flux = reactor.reactor_flux_per_MeV(e, spectrum_model=self.spectrum_model)
        sigma = cevns_total_cross_section_cm2(
            e, self.nucleus, n_points=64, sin2_theta_w=units.sin2_theta_w_reference,
            form_factor_name="klein_nystrand", form_factor_options=FORM_FACTOR_OPTIONS,
        )
        return float(np.trapezoid(flux * sigma, e) / np.trapezoid(flux, e))

    def best_fit_signal_strength(self, cevns: NDArray, electron: NDArray) -> tuple[float, float]:
        """(μ̂, χ²(μ̂)) for signals μ·CEvNS + electron, μ ≥ 0 (grid, then a finer grid)."""
        grid = np.linspace(0.0, 5.0, 101)
        for _ in range(3):
            chi = self.chi2(grid[:, None] * cevns + electron)
            i = int(np.argmin(chi))
            step = grid[1] - grid[0]
            grid = np.linspace(max(grid[i] - step, 0.0), grid[i] + step, 41)
        chi = self.chi2(grid[:, None] * cevns + electron)
        i = int(np.argmin(chi))
        return float(grid[i]), float(chi[i])

    def summary(self, quenching: str | None = None) -> dict:
        """JSON-ready SM summary for ``nubound predict dresden_ii`` (keys in the README)."""
        q = self.check_quenching(quenching)
        counts = self.sm_counts(q)
        cevns, electron = counts["Ge"], counts["electron"]
        fit_sm = self.profile(cevns + electron)
        fit_b = self.profile(np.zeros(N_BINS))
        mu, chi2_mu = self.best_fit_signal_strength(cevns, electron)
        theta = fit_sm.theta
        bkg = background_rate(theta, self.energy_keV) * self.exposure_days
        days = self.exposure_days
        return {
            "experiment": self.name,
            "quenching": q,
            "data": self.data_kind,
            "exposure_days": days,
            "cevns_events": float(cevns.sum()),
            "cevns_events_per_day": float(cevns.sum() / days),
            "electron_events": float(electron.sum()),
            "background_events": float(bkg.sum()),
            "observed_events": float(self.observed.sum()),
            "chi2_sm": float(fit_sm.chi2),
            "chi2_background_only": float(fit_b.chi2),
            "n_bins": N_BINS,
            "best_fit_nuisances": dict(zip(PARAMETER_NAMES, map(float, theta), strict=True)),
            "best_fit_nuisances_background_only": dict(
                zip(PARAMETER_NAMES, map(float, fit_b.theta), strict=True)
            ),
            "signal_strength_best_fit": mu,
            "chi2_signal_strength_best_fit": chi2_mu,
            "flux_cm2_s": reactor.TOTAL_FLUX_CM2_S,
            "flux_averaged_cross_section_cm2": self.flux_averaged_cross_section_cm2(),
            "units": "events over the Rx-ON exposure in 0.2–1.5 keVee; nuisances A, B, h in "
            "counts/(10 eVee·day), c, w in keVee, C in 1/keVee",
        }
