"""Likelihood of the XENONnT ⁸B CEvNS search: extended binned Poisson over 81 bins per run.

χ²(s) = min_θ { 2 Σ_b [μ_b − n_b + n_b ln(n_b/μ_b)] + Σ_p θ_p² } (Baker & Cousins 1984,
as for the other experiments; docs/statistics.md), θ in units of their 1σ prior widths:

    μ = s₀ + AC + ER + N₀ + θ_flux σ_Φ s₀ + θ_ac σ_ac AC + θ_er σ_er ER + θ_n σ_n N₀
        + Σ_{k = tly, tqy} t_k Δ_k^{sign t_k}(s) ,

s₀ the signal and N₀ the neutron template at the nominal yields, Δ_k^+ = (s + N)(t_k = +1) −
(s + N)(0) and Δ_k^− = (s + N)(0) − (s + N)(t_k = −1): the signal efficiency and the neutron
template move piecewise linearly in each yield parameter between the release's −1, 0, +1
nodes (linear extrapolation beyond, additive in tly and tqy; HistFactory's piecewise-linear
"code 0"). The nodes at ±2, ±3 of the release's 7 × 7 grid and its off-axis nodes are not used
(docs/experiments/xenonnt_b8.md quantifies what that leaves out). In each quadrant of (tly, tqy)
μ is linear in all nuisances, so ``kernel.profile`` minimises it exactly.

Priors (θ ~ N(0, 1)):
- ``flux``: σ_Φ of the chosen ⁸B normalisation (12 % B16-GS98, 4 % SNO), or absent when the
  flux is fitted freely (``flux_free``: the measurement of the ⁸B flux); with the experiment's
  optional signal-efficiency width σ_ε it is the signal nuisance of width √(σ_Φ² + σ_ε²)
  (σ_ε alone with the flux free), the two priors scaling the same s₀;
- ``ac_norm`` 5 %: the published background expectation, 26.4 (+1.4 −1.3) events
  (arXiv:2408.02877), is 95 % AC, its ±5 % taken as the AC uncertainty;
- ``er_norm`` and ``neutron_norm`` 50 %: not found in the publications; stated choices
  (0.7 and 0.6 events with SR0+SR1), configurable;
- ``tly``, ``tqy``: unit Gaussians (the release's grid in units of 1σ).

Pull centres: the real data's auxiliary measurements sit at θ = 0; a pseudo-experiment
(docs/feldman-cousins.md) carries its own fluctuated centres c_p, and its priors read
(θ_p − c_p)² (``Model.pull_centres``, NUISANCES order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from nubound.physics.experiments.xenonnt_b8 import data
from nubound.physics.experiments.xenonnt_b8.response import YIELD_NODES

NUISANCES = ("tly", "tqy", "flux", "ac_norm", "er_norm", "neutron_norm")
BACKGROUND_UNCERTAINTY = {"ac": 0.05, "er": 0.5, "neutron": 0.5}
N_NODES = len(YIELD_NODES)


@dataclass(frozen=True, eq=False)
class Model:
    """Observed counts, backgrounds and nuisance directions over the selected runs."""

    runs: tuple[str, ...]
    observed: NDArray  # (n_bins,)
    components: dict[str, NDArray]  # ac, er, neutron: (n_bins,) counts at nominal yields
    neutron_nodes: NDArray  # (N_NODES, n_bins): neutron counts at YIELD_NODES
    flux_uncertainty: float
    background_uncertainty: dict[str, float] = field(default_factory=dict)
    pull_centres: NDArray = field(default_factory=lambda: np.zeros(len(NUISANCES)))

    @property
    def n_bins(self) -> int:
        """81 × number of runs."""
        return self.observed.size

    @property
    def background(self) -> NDArray:
        """AC + ER + neutrons at nominal normalisations and yields, (n_bins,)."""
        return self.components["ac"] + self.components["er"] + self.components["neutron"]

    @property
    def shared_directions(self) -> NDArray:
        """(3, n_bins): σ_ac AC, σ_er ER, σ_n N₀."""
        return np.stack([self.background_uncertainty[k] * self.components[k]
                         for k in ("ac", "er", "neutron")])

    def yield_direction(self, signal_nodes: NDArray, axis: int, sign: int) -> NDArray:
        """Δ_axis^sign of the module docstring for signals (..., N_NODES, n_bins)."""
        s, n = signal_nodes, self.neutron_nodes
        node = 1 + 2 * axis if sign > 0 else 2 + 2 * axis
        return sign * ((s[..., node, :] - s[..., 0, :]) + (n[node] - n[0]))

    def expected(self, signal_nodes: NDArray, theta: NDArray) -> NDArray:
        """μ(θ) for one signal (N_NODES, n_bins) and θ in ``NUISANCES`` order (piecewise in
        tly, tqy) — the model ``kernel.profile`` minimises."""
        mu = self.background + signal_nodes[0] + theta[2] * self.flux_uncertainty * signal_nodes[0]
        mu = mu + theta[3:] @ self.shared_directions
        for axis in (0, 1):
            t = theta[axis]
            if t != 0.0:
                mu = mu + t * self.yield_direction(signal_nodes, axis, 1 if t > 0 else -1)
        return mu


def build_model(runs: tuple[str, ...], flux_uncertainty: float,
                background_uncertainty: dict[str, float] | None = None) -> Model:
    """The likelihood model of ``runs`` (release order) with the given prior widths."""
    unc = dict(BACKGROUND_UNCERTAINTY)
    unc.update(background_uncertainty or {})
    exposure = {r: data.EXPOSURE_TONNE_YEAR[r] for r in runs}

    def stacked(kind, tly=0.0, tqy=0.0):
        return np.concatenate([exposure[r] * data.background_template(r, kind, tly, tqy)
                               for r in runs])

    neutron_nodes = np.stack([stacked("rg", *node) for node in YIELD_NODES])
    observed = np.concatenate([data.observed_counts(r) for r in runs])
    components = {"ac": stacked("ac"), "er": stacked("er"), "neutron": neutron_nodes[0]}
    for a in (neutron_nodes, observed, *components.values()):
        a.setflags(write=False)
    return Model(runs, observed, components, neutron_nodes, float(flux_uncertainty), unc)
