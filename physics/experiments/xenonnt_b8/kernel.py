"""Exact batched profile of the XENONnT ⁸B likelihood (``likelihood.Model``).

μ is piecewise linear in the yield parameters (tly, tqy): linear in every nuisance inside each
closed quadrant of the (tly, tqy) plane. The χ² is convex on each of the nine *regions* — the
four open quadrants, the four open half-axes (one yield parameter at 0) and the origin — in
its linear extension there. The global minimum lies in one region R; there it is the minimum
of R's (convex) extension over R's affine hull, which therefore lies in the closure of R.
So: minimise the nine extensions exactly (``statistics.profile.profile_linear_poisson``, the
batched Newton of the other experiments), keep those whose minimiser lies in the closure of
its region (signs of tly, tqy as assumed, to ``SIGN_TOLERANCE``), and take the smallest χ².
Each region is one batched call over the whole block of signals: no minimizer per point.

Pruning (exact): a half-axis extension is the restriction of each adjacent quadrant's
extension, the origin that of all four, so its minimum is at least the largest of their
minima. The quadrants run first, for every point; a lower-dimensional region runs only for the
points where that bound is below the best valid χ² found so far.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from numpy.typing import NDArray

from nubound.physics.experiments.xenonnt_b8.likelihood import NUISANCES, Model
from nubound.physics.statistics.profile import (
    EXPERIMENT_TOLERANCE,
    ProfileResult,
    profile_linear_poisson,
)

# Newton iterations per region: signals far beyond the data (excluded couplings) whose yield
# directions nearly cancel the signal approach the domain edge μ → 0 slowly; others stop early
MAX_ITERATIONS = 100
SIGN_TOLERANCE = 1e-4  # a yield parameter this far on the wrong side still counts as inside
# regions: the yield axes (0 = tly, 1 = tqy) that are free, each with its sign
REGIONS: tuple[tuple[tuple[int, int], ...], ...] = (
    tuple(((0, s0), (1, s1)) for s0, s1 in itertools.product((1, -1), repeat=2))
    + tuple(((axis, sign),) for axis in (0, 1) for sign in (1, -1))
    + ((),)
)


def profile(model: Model, signal_nodes: NDArray, *, flux_free: bool = False) -> ProfileResult:
    """Profile all nuisances for signals (m, N_NODES, n_bins) given at the yield nodes.

    ``flux_free``: no flux nuisance (the signal normalisation is fixed by the caller, who
    scans it: the flux measurement). Returns χ² (m,), θ (m, 6) in ``NUISANCES`` order
    (θ_flux = 0 when free), converged and Newton iterations of the winning region.
    """
    s = np.asarray(signal_nodes, dtype=float)
    m = s.shape[0]
    s0 = np.ascontiguousarray(s[:, 0, :])
    with_flux = not flux_free and model.flux_uncertainty > 0.0
    best = np.full(m, np.inf)
    theta = np.zeros((m, len(NUISANCES)))
    converged = np.zeros(m, dtype=bool)
    iterations = np.zeros(m, dtype=np.int64)
    # With the flux nuisance the signal enters as σ_Φ θ' s₀, θ' = θ_flux + 1/σ_Φ, so that a
    # huge signal (an excluded coupling) scaled to ≈ 0 loses no digits in 1 + σ_Φ θ_flux; it
    # starts from the scale that brings it to the observed excess over the background (at
    # most 1). Any start gives the same minimum (convex per region); this one is inside the
    # domain and near it.
    totals = s0.sum(axis=1)
    excess = max(float(model.observed.sum() - model.background.sum()), 1.0)
    start_scale = np.minimum(1.0, excess / np.maximum(totals, 1e-300))
    steps = {(axis, sign): model.yield_direction(s, axis, sign)
             for axis in (0, 1) for sign in (1, -1)}
    pulls = np.asarray(model.pull_centres, dtype=float)  # the priors' centres (data: all 0)
    quadrant_chi2 = {}
    for region in REGIONS:
        k = len(region)
        if k == 2:
            rows = np.arange(m)
        else:  # bound from the quadrants containing this region (module docstring)
            bound = np.max([c for q, c in quadrant_chi2.items() if set(region) <= set(q)],
                           axis=0)
            rows = np.flatnonzero(bound < best)
            if rows.size == 0:
                continue
        directions = (np.stack([steps[r][rows] for r in region], axis=1) if k else None)
        n_par = k + int(with_flux) + 3
        centre, start = np.zeros(n_par), np.zeros((rows.size, n_par))
        centre[:k] = [pulls[axis] for axis, _ in region]
        centre[k + int(with_flux):] = pulls[3:]
        if with_flux:  # fit θ' = θ_flux + 1/σ_Φ: the signal is σ_Φ θ' s₀ (see below)
            centre[k] = 1.0 / model.flux_uncertainty + pulls[2]
            start[:, k] = start_scale[rows] / model.flux_uncertainty
        res = profile_linear_poisson(
            model.observed, model.background, directions, np.ones(n_par),
            scaled_directions=np.full((1, model.n_bins), model.flux_uncertainty)
            if with_flux else None,
            scale=s0[rows], scaled_base=None if with_flux else np.ones(model.n_bins),
            shared_directions=model.shared_directions, prior_centre=centre, start=start,
            tolerance=EXPERIMENT_TOLERANCE, max_iterations=MAX_ITERATIONS,
        )
        # a yield parameter held at 0 in this region still pays its prior (0 − c)²
        fixed = sum(pulls[axis] ** 2 for axis in {0, 1} - {a for a, _ in region})
        res = dataclasses.replace(res, chi2=res.chi2 + fixed) if fixed else res
        if k == 2:  # a bound only where the quadrant's minimum was reached
            quadrant_chi2[region] = np.where(res.converged, res.chi2, -np.inf)
        inside = np.ones(rows.size, dtype=bool)
        for j, (_, sign) in enumerate(region):
            inside &= sign * res.theta[:, j] >= -SIGN_TOLERANCE
        better = inside & (res.chi2 < best[rows])
        if not better.any():
            continue
        full = np.zeros((rows.size, len(NUISANCES)))
        for j, (axis, _) in enumerate(region):
            full[:, axis] = res.theta[:, j]
        if with_flux:
            full[:, 2] = res.theta[:, k] - 1.0 / model.flux_uncertainty
        full[:, 3:] = res.theta[:, k + int(with_flux):]
        target = rows[better]
        best[target] = res.chi2[better]
        theta[target] = full[better]
        converged[target] = res.converged[better]
        iterations[target] = res.iterations[better]
    return ProfileResult(best, theta, converged, iterations)
