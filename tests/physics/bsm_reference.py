"""Reference (slow, straightforward) BSM predictions and a synthetic experiment, for the tests.

The reference computes, for ONE parameter point, every channel's rate density by direct
quadrature over Eν of flux × the full BSM dσ/dT(Eν, T) of ``physics/cross_sections/bsm_*.py``
(Gauss–Legendre on [Eν_min(T), Eν_max] for analytic spectra, the line value for a line), then
folds it with the experiment's response. It shares with the fast path only the recoil grid and
response (the detector model) and the form factor; it uses neither the flux moments nor the
template algebra. For the real experiments, whose spectra live inside their modules, a second
reference ``moment_projection_counts`` fits each explicit dσ/dT(Eν, T) at three energies to
a + b/Eν + c/Eν² and applies the experiment's moments: independent algebra, shared Eν integral.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from nubound.physics import units
from nubound.physics.atomic_binding import effective_electron_count
from nubound.physics.cross_sections.bsm_magnetic_moment import (
    magnetic_moment_electron_dsigma_dT_cm2_per_MeV,
    magnetic_moment_nucleus_dsigma_dT_cm2_per_MeV,
)
from nubound.physics.cross_sections.bsm_nsi import cevns_nsi_dsigma_dT_cm2_per_MeV, flavour_lepton
from nubound.physics.cross_sections.bsm_scalar import (
    scalar_electron_dsigma_dT_cm2_per_MeV,
    scalar_nucleus_dsigma_dT_cm2_per_MeV,
)
from nubound.physics.cross_sections.bsm_vector import (
    vector_electron_dsigma_dT_cm2_per_MeV,
    vector_nucleus_dsigma_dT_cm2_per_MeV,
)
from nubound.physics.cross_sections.cevns import cevns_dsigma_dT_cm2_per_MeV
from nubound.physics.cross_sections.kinematics import min_neutrino_energy_MeV
from nubound.physics.cross_sections.nu_e import nu_e_dsigma_dT_cm2_per_MeV
from nubound.physics.experiments.base import Channel, Experiment
from nubound.physics.fluxes.moments import line_flux_moments, tabulated_flux_moments
from nubound.physics.models import get_model
from nubound.physics.nuclei import NUCLIDES, averaged_nucleus, target
from nubound.physics.rates import sm_rates
from nubound.physics.statistics.poisson import poisson_chi2
from nubound.physics.statistics.profile import ProfileResult

# ---------------------------------------------------------------------------------------
# flux spectra of the synthetic experiment (analytic, so the reference quadrature is exact)
M_MU = units.muon_mass_MeV
PROMPT_MeV = (units.charged_pion_mass_MeV**2 - M_MU**2) / (2.0 * units.charged_pion_mass_MeV)


def michel(flavour: str) -> Callable[[np.ndarray], np.ndarray]:
    """Unit-normalised π-DAR Michel spectra (docs/physics.md#pion-decay-at-rest)."""
    a, b = {"nue": (192.0, 0.5), "numubar": (64.0, 0.75)}[flavour]

    def pdf(e: np.ndarray) -> np.ndarray:
        x = e / M_MU
        return np.where(e <= M_MU / 2, a / M_MU * x**2 * (b - x), 0.0)

    return pdf


def reactor_like(e: np.ndarray) -> np.ndarray:
    """A smooth made-up reactor-like shape on [0, 8] MeV (normalised numerically below)."""
    return np.where(e <= 8.0, e**2 * np.exp(-1.1 * e) * (8.0 - e), 0.0)


@dataclass(frozen=True)
class Line:
    energy_MeV: float
    fluence: float


@dataclass(frozen=True)
class Spectrum:
    """dΦ/dEν (absolute, cm⁻² MeV⁻¹) up to max_energy_MeV; kinks only at ``breakpoints``."""

    flux: Callable
    max_energy_MeV: float
    breakpoints: tuple[float, ...] = ()


def _normalised(pdf: Callable, max_energy_MeV: float, fluence: float) -> Spectrum:
    e = np.linspace(1e-4, max_energy_MeV, 6001)
    norm = fluence / np.trapezoid(pdf(e), e)
    return Spectrum(lambda x: norm * pdf(x), max_energy_MeV)


def _grid_moments(spec: Line | Spectrum, emin: np.ndarray) -> np.ndarray:
    if isinstance(spec, Line):
        return line_flux_moments(spec.energy_MeV, spec.fluence, emin)
    e = np.linspace(1e-4, spec.max_energy_MeV, 6001)
    return tabulated_flux_moments(e, spec.flux(e), emin)


class SyntheticExperiment(Experiment):
    """Two flux families (π-DAR line + Michel, reactor-like), nuclei and electrons, 12 bins."""

    name = "synthetic"
    quenching_choices = ("low", "high")
    default_quenching = "low"

    def __init__(self) -> None:
        cs = NUCLIDES["Cs133"]
        ge = averaged_nucleus(target("Ge"))
        sns = {
            "numu": Line(PROMPT_MeV, 3e14),
            "nue": _normalised(michel("nue"), M_MU / 2, 3e14),
            "numubar": _normalised(michel("numubar"), M_MU / 2, 3e14),
        }
        reactor = {"nuebar": _normalised(reactor_like, 8.0, 4e18)}
        # (name, kind, particle, spectra, T range MeV, n targets, bin scale MeV)
        self.layout = (
            ("cs_nuclei", "nucleus", cs, sns, (1e-3, 0.12), 5e25, 0.1),
            ("ge_nuclei", "nucleus", ge, reactor, (2e-4, 3e-3), 2e25, 2.5e-3),
            ("ge_electrons", "electron", "Ge", reactor, (2e-4, 3e-3), 2e25, 2.5e-3),
            ("cs_electrons", "electron", "Cs", sns, (1e-3, 0.12), 1e25, 0.1),
        )
        self.spectra = {row[0]: row[3] for row in self.layout}

    @property
    def n_bins(self) -> int:
        return 12

    @cached_property
    def observed(self) -> np.ndarray:
        sm = self.expected_counts(sm_rates(self.channels()))
        return np.round(sm + self.background)

    @cached_property
    def background(self) -> np.ndarray:
        return np.full(12, 5.0)

    def profile(self, signal: np.ndarray) -> ProfileResult:
        """No nuisances: the Poisson χ² of signal + background (nothing to fit)."""
        chi2 = poisson_chi2(self.observed, self.check_signal(signal) + self.background)
        return ProfileResult(chi2, np.zeros(chi2.shape + (0,)), np.ones(chi2.shape, bool))

    def channels(self, quenching: str | None = None) -> tuple[Channel, ...]:
        return self._channels(self.check_quenching(quenching))

    def _channels(self, quenching: str) -> tuple[Channel, ...]:
        cache = self.__dict__.setdefault("_cache", {})
        if quenching not in cache:
            cache[quenching] = tuple(self._build(row, quenching) for row in self.layout)
        return cache[quenching]

    def _build(self, row, quenching: str) -> Channel:
        name, kind, particle, spectra, (t_lo, t_hi), n_targets, scale = row
        t = np.geomspace(t_lo, t_hi, 240)
        w = np.gradient(t)  # quadrature weights [MeV]
        mass = particle.mass_MeV if kind == "nucleus" else units.electron_mass_MeV
        emin = min_neutrino_energy_MeV(t, mass)
        flavours = tuple(spectra)
        moments = np.stack([_grid_moments(spectra[f], emin) for f in flavours])
        # made-up detection: a quenching-like power law, then a smooth bin assignment
        visible = t * ((0.2 if quenching == "low" else 0.3) if kind == "nucleus" else 1.0)
        visible = visible * (t / t_lo) ** (0.1 if kind == "nucleus" else 0.0)
        centres = np.linspace(0.0, 1.0, 12) * scale * 0.4 + 0.02 * scale
        prob = np.exp(-0.5 * ((visible[:, None] - centres[None, :]) / (0.06 * scale)) ** 2)
        prob *= 0.9 / (1.0 + np.exp(-(visible[:, None] - 0.01 * scale) / (0.003 * scale)))
        zeff = 1.0
        if kind == "electron":
            zeff = effective_electron_count("Ge", t) if particle == "Ge" else 55.0
        response = n_targets * (w * zeff)[:, None] * prob
        meta = {"form_factor": "helm", "sin2_theta_w": units.sin2_theta_w}
        if kind == "nucleus" and particle.Z == 32:
            meta = {"form_factor": "klein_nystrand", "form_factor_options": {},
                    "sin2_theta_w": units.sin2_theta_w_reference}
        return Channel(name, kind, particle, flavours, t, moments, response, meta)


# ---------------------------------------------------------------------------------------
# explicit cross sections of each model, SM + BSM, per target particle
def model_dsigma(model_name: str, params: dict, channel: Channel, flavour: str, e, t):
    """dσ/dT(Eν, T) per target particle in cm²/MeV for one flavour, SM + BSM, one point."""
    model = get_model(model_name)
    values, options = model.validate(params)
    v = {k: np.asarray(x, dtype=float) for k, x in values.items()}  # (broadcast: points)
    sin2w = channel.meta.get("sin2_theta_w", units.sin2_theta_w)
    ff = {"form_factor_name": channel.meta.get("form_factor", "helm"),
          "form_factor_options": channel.meta.get("form_factor_options", {})}
    nucleus = channel.kind == "nucleus"
    if nucleus:
        sm = cevns_dsigma_dT_cm2_per_MeV(e, t, channel.particle, sin2_theta_w=sin2w, **ff)
    else:
        sm = nu_e_dsigma_dT_cm2_per_MeV(e, t, flavour, sin2_theta_w=sin2w)
    if model_name == "nsi":
        if not nucleus:
            return sm
        return cevns_nsi_dsigma_dT_cm2_per_MeV(
            e, t, channel.particle, flavour, v, sin2_theta_w=sin2w, **ff)
    if model_name == "magnetic_moment":
        mu = v["mu_e"] if flavour_lepton(flavour) == "e" else v["mu_mu"]
        if nucleus:
            return sm + magnetic_moment_nucleus_dsigma_dT_cm2_per_MeV(
                e, t, channel.particle, mu, **ff)
        return sm + magnetic_moment_electron_dsigma_dT_cm2_per_MeV(e, t, mu)
    if model_name.startswith("scalar"):
        g, m = v["coupling"], v["mass_MeV"]
        if nucleus:
            if model_name == "scalar_leptonic":
                return sm
            return sm + scalar_nucleus_dsigma_dT_cm2_per_MeV(e, t, channel.particle, g, m, **ff)
        return sm + scalar_electron_dsigma_dT_cm2_per_MeV(e, t, g, m)
    charges = model.charges
    g, m = v["coupling"], v["mass_MeV"]
    if nucleus:
        return vector_nucleus_dsigma_dT_cm2_per_MeV(
            e, t, channel.particle, flavour, g, m, charges,
            interference=options["interference"], sin2_theta_w=sin2w, **ff)
    return vector_electron_dsigma_dT_cm2_per_MeV(
        e, t, flavour, g, m, charges, interference=options["interference"],
        sin2_theta_w=sin2w)


def experiment_spectra(experiment: Experiment) -> dict[str, dict[str, Line | Spectrum]]:
    """Per channel and flavour, the flux behind the moments, from the flux modules."""
    if isinstance(experiment, SyntheticExperiment):
        return experiment.spectra
    out = {}
    if experiment.name.startswith("coherent"):
        from nubound.physics.fluxes import pion_dar

        beam = experiment.beam
        for ch in experiment.channels():
            out[ch.name] = {
                f: Line(pion_dar.PROMPT_NEUTRINO_ENERGY_MeV, beam.fluence_per_flavour_cm2)
                if f == "numu" else
                Spectrum(lambda e, f=f: pion_dar.sns_spectrum_per_MeV(beam, f, e), M_MU / 2)
                for f in ch.flavours
            }
        return out
    from nubound.physics.fluxes import reactor

    model, scale = experiment.spectrum_model, experiment.fluence_scale_s
    nodes = reactor.energy_grid_MeV(model, n_fine=2)
    spec = Spectrum(lambda e: scale * reactor.reactor_flux_per_MeV(e, spectrum_model=model),
                    float(nodes[-1]), tuple(nodes[1:-1]))
    return {ch.name: {"nuebar": spec} for ch in experiment.channels()}


def _energy_rule(emin: np.ndarray, spec: Spectrum, x, w):
    """Composite Gauss–Legendre nodes/weights (nT, n) on [emin, max], split at breakpoints.

    Panels below emin collapse to zero length (weight 0), so every T has the same node count.
    """
    inner = np.array([*spec.breakpoints, spec.max_energy_MeV])
    edges = np.concatenate([emin[:, None], np.maximum(inner[None, :], emin[:, None])], axis=1)
    lo, hi = edges[:, :-1, None], edges[:, 1:, None]
    nodes = lo + 0.5 * (hi - lo) * (x + 1.0)
    weights = 0.5 * (hi - lo) * w
    return nodes.reshape(emin.size, -1), weights.reshape(emin.size, -1)


def reference_counts(experiment: Experiment, quenching, model_name, params,
                     n_nodes: int = 48) -> np.ndarray:
    """Direct Eν quadrature of flux × dσ/dT for one point, folded with the response."""
    point = {k: v if isinstance(v, str) else np.atleast_1d(v) for k, v in params.items()}
    return vectorised_counts(experiment, quenching, model_name, point, n_nodes)[0]


def vectorised_counts(experiment: Experiment, quenching, model_name, points: dict,
                      n_nodes: int = 48, max_elements: float = 4e6) -> np.ndarray:
    """Direct Eν quadrature of flux × dσ/dT for P points at once, folded with the response,
    numpy broadcasting over points × T × Eν (what a user would write with numpy): ``points``
    holds (P,) arrays (options as strings) → (P, n_bins). Points are taken in chunks of at
    most ``max_elements`` per array."""
    numeric = {k: np.asarray(v, dtype=float) for k, v in points.items() if not isinstance(v, str)}
    options = {k: v for k, v in points.items() if isinstance(v, str)}
    size = int(np.prod(np.broadcast_shapes((1,), *(v.shape for v in numeric.values()))))
    numeric = {k: np.broadcast_to(v, (size,)) for k, v in numeric.items()}
    spectra = experiment_spectra(experiment)
    rates = {}
    for ch in experiment.channels(quenching):
        t = ch.recoil_energy_MeV
        mass = ch.particle.mass_MeV if ch.kind == "nucleus" else units.electron_mass_MeV
        emin = min_neutrino_energy_MeV(t, mass)
        out = np.zeros((size, len(ch.flavours), t.size))
        for i, flav in enumerate(ch.flavours):
            spec = spectra[ch.name][flav]
            if isinstance(spec, Line):
                ok = emin <= spec.energy_MeV
                e, t_ok, we = np.float64(spec.energy_MeV), t[ok][:, None], None
            else:
                ok = emin < spec.max_energy_MeV
                x, w = np.polynomial.legendre.leggauss(10 if spec.breakpoints else n_nodes)
                e, we = _energy_rule(emin[ok], spec, x, w)
                t_ok = t[ok][:, None]
            step = max(1, int(max_elements // max(np.size(e) if we is not None else ok.sum(), 1)))
            for lo in range(0, size, step):
                sl = slice(lo, min(lo + step, size))
                chunk = {k: v[sl, None, None] for k, v in numeric.items()} | options
                ds = model_dsigma(model_name, chunk, ch, flav, e, t_ok)
                if we is None:
                    out[sl, i, ok] = spec.fluence * ds[..., 0]
                else:
                    out[sl, i, ok] = np.sum(we * spec.flux(e) * ds, axis=-1)
        rates[ch.name] = out
    return experiment.expected_counts(rates, quenching)


def moment_projection_counts(experiment: Experiment, quenching, model_name, params):
    """Second reference: fit each explicit dσ/dT to a + b/Eν + c/Eν², apply the moments."""
    rates = {}
    for ch in experiment.channels(quenching):
        t = ch.recoil_energy_MeV
        mass = ch.particle.mass_MeV if ch.kind == "nucleus" else units.electron_mass_MeV
        energies = min_neutrino_energy_MeV(t, mass)[:, None] * np.array([1.5, 3.0, 6.0])
        basis = np.stack([np.ones_like(energies), 1 / energies, 1 / energies**2], axis=-1)
        out = np.zeros((len(ch.flavours), t.size))
        for i, flav in enumerate(ch.flavours):
            ds = model_dsigma(model_name, params, ch, flav, energies, t[:, None])
            abc = np.linalg.solve(basis, ds[..., None])[..., 0]  # (nT, 3)
            out[i] = np.einsum("tk,kt->t", abc, ch.flux_moments[i])
        rates[ch.name] = out
    return experiment.expected_counts(rates, quenching)
