"""COHERENT CsI[Na] 2021 detector response: quenching, light yield and smearing, efficiencies.

Inputs are the arXiv:2110.07730v2 ancillary files (docs/experiments/coherent_csi.md#data):

- scintillation response ``scintRespCoefficients.txt``: E_ee(T) = a T + b T² + c T³ + d T⁴ with
  T in MeVnr and E_ee in MeVee; nominal and the ±1σ curves of two systematic models;
- energy efficiency ``effCoefficients.txt``: ε_E(x) = a / (1 + exp(−b (x − c))) + d, x in PE,
  clipped to [0, 1]; nominal and two ±1σ sets (the file labels both "+1 sigma"; the one with
  the larger turn-on c is the −1σ curve);
- time efficiency (docs/experiments/coherent_csi.md#response, from the release's supplement as
  quoted by third-party
  analyses): ε_t(t) = 1 for t < 0.52 µs, exp(−0.0494 (t/µs − 0.52)) afterwards;
- light yield and resolution: the number of photoelectrons x for an electron-equivalent energy
  E_ee [keVee] follows the gamma density
  P(x) = (a(1+b))^{1+b} / Γ(1+b) · x^b · exp(−a(1+b) x),  a = 0.0749/E_ee, b = 9.56 E_ee,
  i.e. shape k = 1 + b and scale θ = 1/(a(1+b)). Its mean 1/a = E_ee/0.0749 = 13.35 PE/keVee
  × E_ee is the light yield of docs/experiments/coherent_csi.md#response (1/0.0749 = 13.351), which
  fixes the meaning of the
  two numbers; the same form (a = 1/⟨PE⟩) is that of the 2018 release (Zenodo 1228631), and
  the parametrisation a = 0.0749/E_ee, b = 9.56 E_ee is the one the Newtrinos.jl CsI module
  (philippeller/Newtrinos.jl, ``coherent_csi.jl``) reads from the 2021 supplement.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammainc

from nubound.physics import units
from nubound.physics.data import data_path
from nubound.physics.errors import DataFileError, PhysicsInputError

RELEASE = "coherent-csi-2021"

# Analysis binning (README of the release folder; the collaboration's PE and time binning)
PE_EDGES = (0.0, 8.0, 12.0, 16.0, 20.0, 24.0, 32.0, 40.0, 50.0, 60.0)
TIME_EDGES_us = (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 2.0, 4.0, 6.0)

# Gamma-function resolution (see module docstring): a = 0.0749/E_ee, b = 9.56 E_ee (E_ee in keVee)
RESOLUTION_A_keVee = 0.0749
RESOLUTION_B_per_keVee = 9.56
# = 13.35, docs/experiments/coherent_csi.md#response
LIGHT_YIELD_PE_per_keVee = 1.0 / RESOLUTION_A_keVee

# Time efficiency (docs/experiments/coherent_csi.md#response)
TIME_EFFICIENCY_ONSET_us = 0.52
TIME_EFFICIENCY_SLOPE_per_us = 0.0494

QUENCHING_CHOICES = ("nominal", "model0_up", "model0_down", "model1_up", "model1_down")
EFFICIENCY_CHOICES = ("nominal", "up", "down")

# PE sub-bin width for the efficiency-weighted bin probabilities (exact gamma CDF per sub-bin)
_PE_STEP = 0.05


def _coefficient_rows(file_name: str, expected_rows: int) -> NDArray:
    path = data_path(f"{RELEASE}/{file_name}")
    rows = [
        [float(v) for v in line.split()]
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if len(rows) != expected_rows or any(len(r) != 4 for r in rows):
        raise DataFileError(
            f"{path}: expected {expected_rows} rows of 4 coefficients, got {[len(r) for r in rows]}"
        )
    return np.array(rows)


@lru_cache(maxsize=1)
def scintillation_coefficients() -> dict[str, tuple[float, float, float, float]]:
    """(a, b, c, d) of E_ee[MeVee] = a T + b T² + c T³ + d T⁴ (T in MeVnr), per quenching name."""
    rows = _coefficient_rows("scintRespCoefficients.txt", len(QUENCHING_CHOICES))
    pairs = zip(QUENCHING_CHOICES, rows, strict=True)
    return {name: tuple(map(float, row)) for name, row in pairs}


@lru_cache(maxsize=1)
def efficiency_coefficients() -> dict[str, tuple[float, float, float, float]]:
    """(a, b, c, d) of ε_E(x) = a/(1 + exp(−b(x − c))) + d, per efficiency choice."""
    rows = _coefficient_rows("effCoefficients.txt", len(EFFICIENCY_CHOICES))
    pairs = zip(EFFICIENCY_CHOICES, rows, strict=True)
    return {name: tuple(map(float, row)) for name, row in pairs}


def check_choice(kind: str, value: str, allowed: tuple[str, ...]) -> str:
    """Return ``value`` if allowed, else raise naming the allowed values."""
    if value not in allowed:
        raise PhysicsInputError(
            f"coherent_csi: unknown {kind} '{value}'; allowed: {', '.join(allowed)}"
        )
    return value


def electron_equivalent_energy_keV(recoil_energy_MeV: ArrayLike, quenching: str) -> NDArray:
    """E_ee [keVee] of a nuclear recoil T [MeVnr] (release polynomial; ≥ 0)."""
    check_choice("quenching", quenching, QUENCHING_CHOICES)
    a, b, c, d = scintillation_coefficients()[quenching]
    t = np.asarray(recoil_energy_MeV, dtype=float)
    e_ee_MeV = t * (a + t * (b + t * (c + t * d)))
    return np.maximum(e_ee_MeV, 0.0) * units.keV_per_MeV


def energy_efficiency(pe: ArrayLike, efficiency: str = "nominal") -> NDArray:
    """ε_E(x) of the release, clipped to [0, 1] (x in photoelectrons)."""
    check_choice("efficiency", efficiency, EFFICIENCY_CHOICES)
    a, b, c, d = efficiency_coefficients()[efficiency]
    x = np.asarray(pe, dtype=float)
    return np.clip(a / (1.0 + np.exp(-b * (x - c))) + d, 0.0, 1.0)


def time_efficiency(t_us: ArrayLike) -> NDArray:
    """ε_t(t): 1 before 0.52 µs, exp(−0.0494 (t − 0.52)) after (t in µs)."""
    t = np.asarray(t_us, dtype=float)
    late = np.exp(-TIME_EFFICIENCY_SLOPE_per_us * (t - TIME_EFFICIENCY_ONSET_us))
    return np.where(t < TIME_EFFICIENCY_ONSET_us, 1.0, late)


def integrated_time_efficiency(lo_us: ArrayLike, hi_us: ArrayLike) -> NDArray:
    """∫_lo^hi ε_t(t) dt in µs (closed form), elementwise."""
    lo = np.asarray(lo_us, dtype=float)
    hi = np.asarray(hi_us, dtype=float)
    t0, k = TIME_EFFICIENCY_ONSET_us, TIME_EFFICIENCY_SLOPE_per_us
    flat = np.clip(np.minimum(hi, t0) - lo, 0.0, None)
    a = np.maximum(lo, t0)
    b = np.maximum(hi, t0)
    return flat + (np.exp(-k * (a - t0)) - np.exp(-k * (b - t0))) / k


def pe_bin_probabilities(
    e_ee_keV: ArrayLike, pe_edges: ArrayLike = PE_EDGES, efficiency: str = "nominal"
) -> NDArray:
    """P(PE bin, detected | E_ee) = ∫_bin gamma(x; E_ee) ε_E(x) dx, shape (nE, n_pe_bins).

    The gamma probability of each 0.05-PE sub-bin is exact (regularised incomplete gamma
    function); ε_E is taken at the sub-bin centre. E_ee ≤ 0 gives zero.
    """
    e = np.atleast_1d(np.asarray(e_ee_keV, dtype=float))
    edges = np.asarray(pe_edges, dtype=float)
    fine = np.linspace(edges[0], edges[-1], int(round((edges[-1] - edges[0]) / _PE_STEP)) + 1)
    if not np.all(np.isin(edges, fine)):
        raise PhysicsInputError("coherent_csi: PE edges must be multiples of 0.05 PE")
    positive = e > 0
    e_safe = np.where(positive, e, 1.0)
    shape = 1.0 + RESOLUTION_B_per_keVee * e_safe
    rate = (RESOLUTION_A_keVee / e_safe) * shape  # 1/θ = a (1 + b)
    cdf = gammainc(shape[:, None], rate[:, None] * fine[None, :])
    sub = np.diff(cdf, axis=1) * energy_efficiency(0.5 * (fine[1:] + fine[:-1]), efficiency)
    cum = np.concatenate([np.zeros((e.size, 1)), np.cumsum(sub, axis=1)], axis=1)
    idx = np.searchsorted(fine, edges)
    out = np.diff(cum[:, idx], axis=1)
    return np.where(positive[:, None], out, 0.0)


def neutrino_time_fractions(
    component: str,
    time_edges_us: ArrayLike = TIME_EDGES_us,
    *,
    pulse_mean_ns: float = 440.0,
    pulse_sigma_ns: float = 150.0,
    with_efficiency: bool = True,
) -> NDArray:
    """Fraction of a flux component's events in each time bin, times ε_t if asked.

    ∫_bin p(t) ε_t(t) dt with the arrival-time density of ``fluxes.pion_dar`` (Simpson rule
    on a 1-ns grid; the onset of ε_t at 0.52 µs is a grid node).
    """
    from nubound.physics.fluxes.pion_dar import time_bin_fractions, time_pdf_per_us

    edges = np.asarray(time_edges_us, dtype=float)
    if not with_efficiency:
        return time_bin_fractions(
            edges, component, pulse_mean_ns=pulse_mean_ns, pulse_sigma_ns=pulse_sigma_ns
        )
    out = np.empty(edges.size - 1)
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        pieces = [lo, hi] if not lo < TIME_EFFICIENCY_ONSET_us < hi else [
            lo, TIME_EFFICIENCY_ONSET_us, hi
        ]
        total = 0.0
        for a, b in zip(pieces[:-1], pieces[1:], strict=True):
            n = 2 * max(int(np.ceil((b - a) * 500)), 1) + 1  # ≤ 1 ns spacing, odd count
            t = np.linspace(a, b, n)
            f = time_pdf_per_us(
                t, component, pulse_mean_ns=pulse_mean_ns, pulse_sigma_ns=pulse_sigma_ns
            ) * time_efficiency(t)
            h = (b - a) / (n - 1)
            total += h / 3.0 * (f[0] + f[-1] + 4.0 * f[1:-1:2].sum() + 2.0 * f[2:-1:2].sum())
        out[i] = total
    return out


def gauss_legendre_grid(
    breakpoints_MeV: ArrayLike, panel_MeV: float, nodes_per_panel: int = 6
) -> tuple[NDArray, NDArray]:
    """Composite Gauss–Legendre nodes and weights between sorted breakpoints (MeV).

    Each interval between breakpoints is cut into panels of at most ``panel_MeV``; kinks and
    steps of the integrand should sit on breakpoints.
    """
    x, w = np.polynomial.legendre.leggauss(nodes_per_panel)
    bp = np.unique(np.asarray(breakpoints_MeV, dtype=float))
    nodes, weights = [], []
    for lo, hi in zip(bp[:-1], bp[1:], strict=True):
        n_panels = max(int(np.ceil((hi - lo) / panel_MeV)), 1)
        edges = np.linspace(lo, hi, n_panels + 1)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[1:] + edges[:-1])
        nodes.append((mid[:, None] + half[:, None] * x[None, :]).ravel())
        weights.append((half[:, None] * w[None, :]).ravel())
    return np.concatenate(nodes), np.concatenate(weights)
