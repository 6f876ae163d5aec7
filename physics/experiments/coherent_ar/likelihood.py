"""Likelihood of COHERENT CENNS-10 Analysis A: backgrounds, nuisances, batched profiled χ².

χ²(s) = min_θ { 2 Σ_i [μ_i − n_i + n_i ln(n_i/μ_i)] + Σ_p θ_p² } (docs/statistics.md#poisson), with
every
nuisance entering linearly, θ_p in units of its 1σ (Gaussian prior width 1):

  μ = B + s + Σ_p θ_p D_p,   B = prompt BRN + delayed BRN + steady state (release templates).

Directions D_p (signal-dependent ones are recomputed for each signal s, so μ stays linear in θ):

0. ``signal_norm``: σ_s s, σ_s = 17/128 = 13.3 % (the release's prediction uncertainty, YAML
   ``cevnsPredictionNormalization``). Budget: ν flux 10 % (YAML ``neutrinosPerProton``),
   fiducial mass 2.5 % (0.61/24.4 kg), quenching 1.3 % (this model with a ± 0.006 and
   b ± 0.00009: ±1.2 % and ±0.3 %, in quadrature), and 8.3 % in quadrature for acceptance,
   calibration and the rest, which the release does not itemise.
1. ``cevns_f90``: s ⊙ (C₊ − C₋)/(2C) from ``cevnspdf±1sigF90`` (C the nominal CEvNS template;
   0 where C = 0) — the F90 shape systematic as a per-bin relative change of the signal.
2. ``cevns_timing_mean``: s ⊙ (C_t − C)/C from ``cevnspdfCEvNSTimingMeanSyst`` (one-sided 1σ).
3. ``prompt_brn_norm``: (160/497) × BRN; 4. ``delayed_brn_norm``: (33/33) × delayed BRN;
5. ``steady_state_norm``: (25/3152) × SS (YAML 3154 ± 25; the template sums to 3152, used as is).
6. ``brn_energy``: (BRN₊ − BRN₋)/2 from ``brnpdf±1sigEnergy``.
7. ``brn_timing_mean``: (BRN₊·497/523.67 − BRN₋)/2 (the +1σ file sums to 523.67: renormalised).
8. ``brn_timing_width``: BRN_w − BRN from ``brnpdfBRNTimingWidthSyst`` (one-sided 1σ).

The templates' ±1σ files enter as linear template interpolation (expected = nominal +
θ (T_±1σ − T_nominal)), which keeps the profile exact and batched
(``statistics.profile.profile_linear_poisson``).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray

from nubound.physics.experiments.coherent_ar import data as rel
from nubound.physics.statistics.profile import (
    EXPERIMENT_TOLERANCE,
    LinearResponse,
    ProfileResult,
    nearest_reference,
    profile_linear_poisson,
    reference_responses,
)

NUISANCES = (
    "signal_norm", "cevns_f90", "cevns_timing_mean", "prompt_brn_norm", "delayed_brn_norm",
    "steady_state_norm", "brn_energy", "brn_timing_mean", "brn_timing_width",
)
N_SIGNAL_NUISANCES = 3
QUENCHING_NORM_UNCERTAINTY = float(np.hypot(0.012, 0.003))
SIGNAL_NORM_UNCERTAINTY = rel.CEVNS_PREDICTION[1] / rel.CEVNS_PREDICTION[0]
SIGNAL_NORM_BUDGET = {
    "neutrino_flux": rel.NEUTRINOS_PER_PROTON_RELATIVE_UNCERTAINTY,
    "fiducial_mass": rel.FIDUCIAL_MASS_UNCERTAINTY_kg / rel.FIDUCIAL_MASS_kg,
    "quenching": QUENCHING_NORM_UNCERTAINTY,
}
SIGNAL_NORM_BUDGET["acceptance_and_other"] = float(
    np.sqrt(SIGNAL_NORM_UNCERTAINTY**2 - sum(v**2 for v in SIGNAL_NORM_BUDGET.values()))
)


def _flat(name: str) -> NDArray:
    return rel.release_grid(name).reshape(-1)


@cache
def background_templates() -> dict[str, NDArray]:
    """The three background templates (960,), release normalisations."""
    return {k: _flat(k) for k in ("brn", "delayed_brn", "steady_state")}


@cache
def background_total() -> NDArray:
    """B = prompt BRN + delayed BRN + steady state, (960,)."""
    out = sum(background_templates().values())
    out.setflags(write=False)
    return out


@cache
def background_directions() -> NDArray:
    """Directions 3–8 of the module docstring, (6, 960)."""
    b = background_templates()
    brn = b["brn"]
    plus_tm = _flat("brn_timing_mean_plus")
    plus_tm = plus_tm * brn.sum() / plus_tm.sum()
    out = np.stack([
        rel.PROMPT_BRN_PREDICTION[1] / rel.PROMPT_BRN_PREDICTION[0] * brn,
        rel.DELAYED_BRN_PREDICTION[1] / rel.DELAYED_BRN_PREDICTION[0] * b["delayed_brn"],
        rel.STEADY_STATE_PREDICTION[1] / b["steady_state"].sum() * b["steady_state"],
        0.5 * (_flat("brn_energy_plus") - _flat("brn_energy_minus")),
        0.5 * (plus_tm - _flat("brn_timing_mean_minus")),
        _flat("brn_timing_width") - brn,
    ])
    out.setflags(write=False)
    return out


@cache
def signal_shape_ratios() -> NDArray:
    """Relative per-bin signal changes of directions 0–2, (3, 960)."""
    c = _flat("cevns")
    safe = np.where(c > 0, c, 1.0)
    f90 = np.where(c > 0, 0.5 * (_flat("cevns_f90_plus") - _flat("cevns_f90_minus")) / safe, 0.0)
    timing = np.where(c > 0, (_flat("cevns_timing_mean") - c) / safe, 0.0)
    out = np.stack([np.full_like(c, SIGNAL_NORM_UNCERTAINTY), f90, timing])
    out.setflags(write=False)
    return out


def profile(observed: NDArray, signal: NDArray,
            references: tuple[LinearResponse, ...] | None = None,
            pull_centres: NDArray | None = None) -> ProfileResult:
    """Profile all nine nuisances for signals (m, 960), started from ``profile_start`` of
    the ``references`` if given (else from the pull centres). ``pull_centres`` (9,) moves the
    centres of the Gaussian pulls (θ_p − c_p)² from 0 (pseudo-experiments: fluctuated
    auxiliary measurements).

    Directions 0–2 are the signal times fixed per-bin factors (``signal_shape_ratios``:
    "scaled" directions), 3–8 are the same for every signal ("shared"), so the profile never
    stores a direction per signal. Bins with n = 0 (153 of the release's 960) enter the χ²
    linearly (2μ).
    """
    signal = np.asarray(signal, dtype=float)
    observed = np.asarray(observed, dtype=float)
    start, gain, reference = (None, None, None) if references is None else \
        profile_start(observed, signal, references)
    # the kernel fits θ'_0 = θ_0 + 1/σ_s (pull centred there): μ_signal = σ_s θ'_0 s has no
    # cancellation in 1 + σ_s θ_0 when a huge signal (an excluded coupling) is scaled to ≈ 0
    shift = np.zeros(len(NUISANCES))
    shift[0] = 1.0 / SIGNAL_NORM_UNCERTAINTY
    centre = shift if pull_centres is None else shift + np.asarray(pull_centres, dtype=float)
    res = profile_linear_poisson(
        observed, background_total(), None, np.ones(len(NUISANCES)),
        scaled_directions=signal_shape_ratios(), scale=signal,
        shared_directions=background_directions(), prior_centre=centre,
        start=None if start is None else start + shift, start_gain=gain,
        start_reference=reference, tolerance=EXPERIMENT_TOLERANCE,
    )
    return ProfileResult(res.chi2, res.theta - shift, res.converged, res.iterations)


def responses(observed: NDArray, sm_signal: NDArray) -> tuple[LinearResponse, ...]:
    """θ̂ to first order in the signal around ``REFERENCE_SCALES`` × the SM signal (960,):
    the profile's starts (``profile_start``)."""
    return reference_responses(
        np.asarray(observed, dtype=float), background_total(), sm_signal,
        np.ones(len(NUISANCES)), scaled_directions=signal_shape_ratios(),
        shared_directions=background_directions(),
    )


_MIN_START_SCALE = 1e-6  # smallest signal scale 1 + σ_s θ_0 of a start (keeps μ > 0)


def profile_start(observed: NDArray, signal: NDArray, references: tuple[LinearResponse, ...]
                  ) -> tuple[NDArray, NDArray, NDArray]:
    """Starts of ``profile`` for signals (m, 960): ``statistics.profile.nearest_reference``
    (offsets, gains, reference index). Signals beyond the largest reference whose linear start
    would flip their sign (1 + σ_s θ_0 ≤ 0, e.g. excluded couplings) start instead (index −1)
    from the signal normalisation that scales them to the observed excess over the
    background, other nuisances nominal. Any start gives the same minimum; these save Newton
    steps."""
    totals = signal.sum(axis=-1)
    start, gain, nearest = nearest_reference(totals, references)
    reference_totals = np.array([r.signal.sum() for r in references])
    beyond = np.flatnonzero(totals > reference_totals.max())
    if beyond.size:
        linear = references[int(reference_totals.argmax())].start(signal[beyond])
        far = beyond[1.0 + SIGNAL_NORM_UNCERTAINTY * linear[:, 0] <= 0.0]
        excess = float(np.sum(observed) - background_total().sum())
        scale = np.maximum(excess / totals[far], _MIN_START_SCALE)
        start[far] = 0.0
        start[far, 0] = (scale - 1.0) / SIGNAL_NORM_UNCERTAINTY
        nearest[far] = -1
    return start, gain, nearest


def expected_counts(signal: NDArray, theta: NDArray) -> NDArray:
    """μ(θ) for one signal (960,) and nuisances (9,) — the model the profile minimises."""
    dirs = np.concatenate([signal[None] * signal_shape_ratios(), background_directions()])
    return background_total() + signal + theta @ dirs
