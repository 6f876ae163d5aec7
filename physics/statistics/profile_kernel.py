"""Compiled per-point damped Newton for ``statistics.profile`` (numba; one call per block).

Objective (Baker & Cousins 1984 Poisson χ² with Gaussian pulls), for each point of the block:

    f(θ) = 2 Σ_b [μ_b − n_b + n_b ln(n_b/μ_b)] + Σ_p v_p (θ_p − c_p)²,   μ = base + Σ_p θ_p D_p,

gradient g_p = 2 Σ_b D_pb (1 − n_b/μ_b) + 2 v_p (θ_p − c_p) and Hessian
H_pq = 2 Σ_b (n_b/μ_b²) D_pb D_qb + 2 v_p δ_pq. Bins with n = 0 add 2 Σ_b D_pb to g and nothing
to H. Steps (Nesterov, *Introductory Lectures on Convex Optimization* (2004), §4.1.5, for the
self-concordant f/2 with constant κ; decrement λ² = κ gᵀH⁻¹g/2): a full step with λ ≤ 1/2
stays in the domain and lowers f (Thms 4.1.5, 4.1.8), so it is taken unchecked; otherwise a
line search on the convex φ(t) = f(θ + t·step), t ≤ 1 and inside the domain μ ≥ 0, with φ'
and φ'' only (no logarithm). After a full step λ⁺ ≤ (λ/(1 − λ))² (Thm 4.1.14): once that bound
puts the next decrement below the tolerance, the point is done without a further Hessian.
Otherwise the next iteration first bounds its decrement with the previous Hessian: after a step
of local norm r < 1, H(θ⁺) ≽ (1 − r)² H(θ) (Thm 4.1.6), so gᵀH(θ⁺)⁻¹g ≤ gᵀH(θ)⁻¹g/(1 − r)²; a
bound below the tolerance ends the point at the cost of a gradient.

Directions of a point: ``n_var`` rows given per point, ``n_scaled`` rows ``scale ⊙ R_k`` and
``n_shared`` rows ``S_k``, gathered to the bins with n > 0 (``pos``) and n = 0 (``zero``).
The bins with n > 0 come in blocks where only some directions can be nonzero; every sum over
bins runs block by block over those directions only. In the returned χ², equal counts share
one logarithm: Σ n ln x = Σ_counts n_c ln Π_c x, the products carried as mantissa and
exponent (``math.frexp``).

``newton_block`` takes named bundles (``Bins``, ``Expectation``, ``Pulls``, ``Starts``,
``Stopping``, ``Results``: typed namedtuples that numba passes as structs), so that no two
same-typed arrays can be swapped by position.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from nubound.physics.kernel_cache import kernel
from nubound.physics.statistics.compiled_linalg import (
    dot,
    resolve_equilibrated,
    solve_equilibrated,
)

_FAST = {"reassoc", "contract"}  # lets LLVM vectorise the sums over bins (no nnan/ninf)
_RIDGE = 1e-12
_PRODUCT_RANGE = (1e-100, 1e100)
_LN2 = math.log(2.0)


class Blocks(NamedTuple):
    """Block j holds the bins [bounds[j], bounds[j+1]) (in ``pos`` order), where only the
    directions rows[ptr[j]:ptr[j+1]] (sorted) can be nonzero; int64 arrays."""

    bounds: np.ndarray
    ptr: np.ndarray
    rows: np.ndarray


class Bins(NamedTuple):
    """The bins as the kernel reads them (``statistics.profile._Layout``): the counts of the
    bins with n > 0 in ``pos`` order; ``pos``, ``zero`` index the per-point arrays (index
    n_bins: a merged bin, read as 0); groups of equal counts for ``_sum_n_log``
    (``log_starts``, ``log_class`` of each group, ``log_counts`` of each class); the constant
    of the χ², the self-concordance constant κ and the ``Blocks`` of ``pos``."""

    counts: np.ndarray
    pos: np.ndarray
    zero: np.ndarray
    log_starts: np.ndarray
    log_class: np.ndarray
    log_counts: np.ndarray
    const: float
    kappa: float
    blocks: Blocks


class Expectation(NamedTuple):
    """μ = base + scale ⊙ scaled_base + Σ θ_p D_p, with rows on the bins ``pos`` (``_p``) and
    ``zero`` (``_z``): ``base`` (N, B), or (0, B) and the shared ``shared_base_*`` for all
    points; ``var`` (N, n_var, B) directions per point; ``scale`` (N, B) (or (1, 0) if unused)
    times ``scaled_*`` rows; ``shared_*`` rows the same for every point."""

    base: np.ndarray
    shared_base_p: np.ndarray
    shared_base_z: np.ndarray
    scaled_base_p: np.ndarray
    scaled_base_z: np.ndarray
    var: np.ndarray
    scale: np.ndarray
    scaled_p: np.ndarray
    scaled_z: np.ndarray
    shared_p: np.ndarray
    shared_z: np.ndarray


class Pulls(NamedTuple):
    """Weights 1/σ_p² (0: free) and centres c_p of the Gaussian pulls, (P,) each."""

    inv_var: np.ndarray
    centre: np.ndarray


class Starts(NamedTuple):
    """``start`` (N, P), plus ``gain_*[reference[i]]`` · scale of point i where
    reference[i] ≥ 0 (gain_* (n_ref, P, B) on ``pos`` and ``zero``)."""

    start: np.ndarray
    gain_p: np.ndarray
    gain_z: np.ndarray
    reference: np.ndarray


class Stopping(NamedTuple):
    """Newton stops at a decrement below ``tolerance`` or after ``max_iterations``."""

    max_iterations: int
    tolerance: float


class Results(NamedTuple):
    """Outputs for N points: χ² (N,), θ̂ (N, P), converged (N,), Hessians computed (N,)."""

    chi2: np.ndarray
    theta: np.ndarray
    converged: np.ndarray
    hessians: np.ndarray


@kernel()
def _sum_n_log(x, bins, mantissa, exponent):
    """Σ n ln x over bins in groups of ≤ 16 equal counts (``starts``), one logarithm per count
    value (``class_values``): each group's product joins its count's running product, kept as
    mantissa × 2^exponent (renormalised once it leaves (1e-100, 1e100)); a group whose product
    leaves that range is summed bin by bin."""
    starts, group_class, class_values, n = bins.log_starts, bins.log_class, bins.log_counts, \
        bins.counts
    mantissa[:] = 1.0
    exponent[:] = 0
    out = 0.0
    m = starts.size
    for g in range(m):
        lo = starts[g]
        hi = starts[g + 1] if g + 1 < m else x.size
        prod = 1.0
        for b in range(lo, hi):
            prod *= x[b]
        if _PRODUCT_RANGE[0] < prod < _PRODUCT_RANGE[1]:
            c = group_class[g]
            joined = mantissa[c] * prod
            if not (_PRODUCT_RANGE[0] < joined < _PRODUCT_RANGE[1]):
                joined, ex = math.frexp(joined)
                exponent[c] += ex
            mantissa[c] = joined
        else:
            for b in range(lo, hi):
                out += n[b] * np.log(x[b])
    for c in range(class_values.size):
        out += class_values[c] * (np.log(mantissa[c]) + exponent[c] * _LN2)
    return out


@kernel(fastmath=_FAST)
def _combine(base, theta, d, blocks, out):
    """out = base + Σ_p θ_p d_p, block by block over the active rows."""
    for b in range(out.size):
        out[b] = base[b]
    bounds, ptr, rows = blocks
    for j in range(bounds.size - 1):
        for r in rows[ptr[j]:ptr[j + 1]]:
            t = theta[r]
            if t != 0.0:
                o, row = out[bounds[j]:bounds[j + 1]], d[r, bounds[j]:bounds[j + 1]]
                for b in range(o.size):
                    o[b] += t * row[b]


@kernel()
def _min_ok(mu, strict):
    """All μ > 0 (strict) or ≥ 0, none NaN: counted, not branched (vectorises)."""
    inside = 0
    if strict:
        for b in range(mu.size):
            inside += mu[b] > 0.0
    else:
        for b in range(mu.size):
            inside += mu[b] >= 0.0
    return inside == mu.size


@kernel()
def _cap(mu, dmu):
    """0.99 × the largest step fraction keeping every μ ≥ 0 (∞ if none decreases)."""
    lim = np.inf
    for b in range(mu.size):
        if dmu[b] < 0.0:
            lim = min(lim, -mu[b] / dmu[b])
    return 0.99 * lim


@kernel(fastmath=_FAST)
def _objective(mu_p, mu_z, theta, bins, pulls, mantissa, exponent):
    """f at μ (bins n > 0 and n = 0) and θ; +∞ outside the domain (mantissa, exponent:
    workspaces of ``_sum_n_log``)."""
    if not (_min_ok(mu_p, True) and _min_ok(mu_z, False)):
        return np.inf
    total = 0.0
    for b in range(mu_p.size):
        total += mu_p[b]
    for b in range(mu_z.size):
        total += mu_z[b]
    value = 2.0 * total + bins.const - 2.0 * _sum_n_log(mu_p, bins, mantissa, exponent)
    for k in range(theta.size):
        value += pulls.inv_var[k] * (theta[k] - pulls.centre[k]) ** 2
    return value if not np.isnan(value) else np.inf


@kernel(fastmath=_FAST)
def _gather(row, pos, zero, buffer, out_p, out_z):
    """row[pos] and row[zero], through a sequential copy of the row (prefetch-friendly) into
    ``buffer``, whose last entry (index n_bins: merged bins) stays 0."""
    for b in range(row.size):
        buffer[b] = row[b]
    for b in range(pos.size):
        out_p[b] = buffer[pos[b]]
    for b in range(zero.size):
        out_z[b] = buffer[zero[b]]


@kernel(fastmath=_FAST)
def _fill(i, pos, zero, model, dp, dz, base_p, base_z, scale_p, scale_z, zsum, buffer):
    """Point i's base (row i of ``model.base``, or the shared base if it has no rows) plus
    scale ⊙ scaled_base, and its per-point rows, on the bin sets; zsum of those rows."""
    var, scale, scaled_p, scaled_z = model.var, model.scale, model.scaled_p, model.scaled_z
    nv, nr = var.shape[1], scaled_p.shape[0]
    if model.base.shape[0] > 0:
        _gather(model.base[i], pos, zero, buffer, base_p, base_z)
    else:
        base_p[:] = model.shared_base_p
        base_z[:] = model.shared_base_z
    if scale.shape[1] > 0:
        _gather(scale[i], pos, zero, buffer, scale_p, scale_z)
        sb_p, sb_z = model.scaled_base_p, model.scaled_base_z
        for b in range(pos.size):
            base_p[b] += scale_p[b] * sb_p[b]
        for b in range(zero.size):
            base_z[b] += scale_z[b] * sb_z[b]
    for k in range(nv):
        _gather(var[i, k], pos, zero, buffer, dp[k], dz[k])
    for k in range(nr):  # dense: cheaper than block by block (entries off support unread)
        o, sr = dp[nv + k], scaled_p[k]
        for b in range(o.size):
            o[b] = scale_p[b] * sr[b]
        o, sr = dz[nv + k], scaled_z[k]
        for b in range(o.size):
            o[b] = scale_z[b] * sr[b]
    for k in range(nv + nr):
        acc = 0.0
        for b in range(zero.size):
            acc += dz[k, b]
        zsum[k] = acc


@kernel(fastmath=_FAST)
def _gradient(n, mu_p, dp, blocks, zsum, theta, inv_var, centre, w, resid, grad):
    """Gradient of f (module docstring) and the weights n/μ² of its Hessian, summed block by
    block over the rows active in each block."""
    for b in range(mu_p.size):
        inv = 1.0 / mu_p[b]
        ratio = n[b] * inv
        w[b] = ratio * inv
        resid[b] = 1.0 - ratio
    for k in range(theta.size):
        grad[k] = 2.0 * zsum[k] + 2.0 * inv_var[k] * (theta[k] - centre[k])
    bounds, ptr, rows = blocks
    for j in range(bounds.size - 1):
        lo, hi = bounds[j], bounds[j + 1]
        for a in rows[ptr[j]:ptr[j + 1]]:
            grad[a] += 2.0 * dot(dp[a, lo:hi], resid[lo:hi])


@kernel(fastmath=_FAST)
def _hessian(w, dp, blocks, inv_var, wd, hess):
    """Hessian of f with the weights of ``_gradient``, block by block over the active rows."""
    p = inv_var.size
    for k in range(p):
        for q in range(p):
            hess[k, q] = 0.0
        hess[k, k] = 2.0 * inv_var[k]
    bounds, ptr, rows = blocks
    for j in range(bounds.size - 1):
        lo, hi = bounds[j], bounds[j + 1]
        active = rows[ptr[j]:ptr[j + 1]]
        for u in range(active.size):
            wb, rb, out = w[lo:hi], dp[active[u], lo:hi], wd[lo:hi]
            for b in range(out.size):
                out[b] = wb[b] * rb[b]
            for v in range(u, active.size):
                hess[active[u], active[v]] += 2.0 * dot(out, dp[active[v], lo:hi])
    for k in range(p):
        for q in range(k + 1, p):
            hess[q, k] = hess[k, q]


@kernel()
def newton_block(bins, model, pulls, starts, stopping, out):
    """Profile every point of the block (module docstring); results into ``out``.

    ``bins``: ``Bins``; ``model``: ``Expectation``; ``pulls``: ``Pulls``; ``starts``:
    ``Starts``; ``stopping``: ``Stopping``; ``out``: ``Results`` (``hessians``: Hessians
    computed per point).
    """
    n, pos, zero, kappa, blocks = bins.counts, bins.pos, bins.zero, bins.kappa, bins.blocks
    inv_var, centre = pulls.inv_var, pulls.centre
    max_iterations, tolerance = stopping.max_iterations, stopping.tolerance
    shared_p, shared_z = model.shared_p, model.shared_z
    start, gain_p, gain_z, reference = starts.start, starts.gain_p, starts.gain_z, \
        starts.reference
    n_points = start.shape[0]
    nv, nr, ns = model.var.shape[1], model.scaled_p.shape[0], shared_p.shape[0]
    p = nv + nr + ns
    bp, bz = pos.size, zero.size
    dp = np.zeros((p, bp))
    dz = np.zeros((p, bz))
    zsum = np.zeros(p)
    for k in range(ns):  # the shared rows are the same for every point
        row = nv + nr + k
        dp[row] = shared_p[k]
        dz[row] = shared_z[k]
        zsum[row] = shared_z[k].sum()
    base_p, base_z = np.empty(bp), np.empty(bz)
    scale_p, scale_z = np.empty(bp), np.empty(bz)
    buffer = np.zeros(model.base.shape[1] + 1)
    mantissa = np.ones(bins.log_counts.size)
    exponent = np.zeros(bins.log_counts.size, dtype=np.int64)
    mu_p, mu_z, dmu_p, dmu_z = np.empty(bp), np.empty(bz), np.empty(bp), np.empty(bz)
    trial_p, trial_z = np.empty(bp), np.empty(bz)
    w, wd, resid = np.empty(bp), np.empty(bp), np.empty(bp)
    dense_z = Blocks(np.array([0, bz]), np.array([0, p]), np.arange(p))  # one block, all rows
    theta, grad, rhs, step, work = np.empty(p), np.empty(p), np.empty(p), np.empty(p), np.empty(p)
    hess = np.empty((p, p))
    for i in range(n_points):
        _fill(i, pos, zero, model, dp, dz, base_p, base_z, scale_p, scale_z, zsum, buffer)
        ref = reference[i]
        for k in range(p):
            theta[k] = start[i, k]
            if ref >= 0:
                theta[k] += dot(gain_p[ref, k], scale_p) + dot(gain_z[ref, k], scale_z)
        _combine(base_p, theta, dp, blocks, mu_p)
        _combine(base_z, theta, dz, dense_z, mu_z)
        damped = False  # a step that may have moved some μ_b by more than its size
        if not (_min_ok(mu_p, True) and _min_ok(mu_z, False)):  # start outside: use c
            damped = True
            for k in range(p):
                theta[k] = centre[k]
            _combine(base_p, theta, dp, blocks, mu_p)
            _combine(base_z, theta, dz, dense_z, mu_z)
        converged = False
        hessians = 0
        radius = 1.0  # local norm of the last step (< 1: its Hessian bounds the next one's)
        for _ in range(max_iterations):
            _gradient(n, mu_p, dp, blocks, zsum, theta, inv_var, centre, w, resid, grad)
            if radius < 1.0:  # hess, work: the previous iteration's factor and scaling
                resolve_equilibrated(hess, work, grad, step)
                if dot(grad, step) / (1.0 - radius) ** 2 < tolerance:
                    converged = True
                    break
            _hessian(w, dp, blocks, inv_var, wd, hess)
            hessians += 1
            for k in range(p):
                rhs[k] = -grad[k]
            solve_equilibrated(hess, rhs, step, work, _RIDGE)  # flat direction: zero step
            decrement = -dot(grad, step)
            lam = np.sqrt(max(decrement * kappa / 2.0, 0.0))
            if decrement < tolerance:  # f(θ) − min f ≤ ≈ decrement/2: θ stays (μ is current)
                converged = True
                break
            _combine(mu_p, step, dp, blocks, trial_p)
            _combine(mu_z, step, dz, dense_z, trial_z)
            inside = _min_ok(trial_p, True) and _min_ok(trial_z, False)
            frac = 1.0
            if not (inside and lam <= 0.5):
                for b in range(bp):
                    dmu_p[b] = trial_p[b] - mu_p[b]
                for b in range(bz):
                    dmu_z[b] = trial_z[b] - mu_z[b]
                t_max = 1.0 if inside else min(1.0, _cap(mu_p, dmu_p), _cap(mu_z, dmu_z))
                frac = _line_search(n, mu_p, dmu_p, dmu_p.sum() + dmu_z.sum(), theta, step,
                                    inv_var, centre, t_max)
            for k in range(p):
                theta[k] += frac * step[k]
            if frac == 1.0 and inside:
                mu_p, trial_p = trial_p, mu_p
                mu_z, trial_z = trial_z, mu_z
            else:
                for b in range(bp):
                    mu_p[b] += frac * dmu_p[b]
                for b in range(bz):
                    mu_z[b] += frac * dmu_z[b]
            damped |= frac < 1.0 or lam > 0.5
            radius = frac * lam
            lam_c = min(lam, 0.5)
            if frac == 1.0 and inside and lam < 0.5 and \
                    2.0 * (lam_c / (1.0 - lam_c)) ** 4 / kappa < tolerance:
                converged = True  # the next decrement is below the tolerance (Thm 4.1.14)
                break
        # μ was carried along the steps. Full steps with λ ≤ 1/2 change each μ_b (n_b > 0) by
        # less than 0.71 μ_b (Dikin ellipsoid, Thm 4.1.5), so no digits cancel there; after a
        # damped step, and always for n = 0 (no such bound), μ is recomputed from θ̂
        if damped:
            _combine(base_p, theta, dp, blocks, mu_p)
        _combine(base_z, theta, dz, dense_z, mu_z)
        out.chi2[i] = _objective(mu_p, mu_z, theta, bins, pulls, mantissa, exponent)
        for k in range(p):
            out.theta[i, k] = theta[k]
        out.converged[i] = converged
        out.hessians[i] = hessians


@kernel(fastmath=_FAST)
def _slope(t, n, mu_p, dmu_p, total_dmu, theta, step, inv_var, centre):
    """φ'(t), φ''(t) of φ(t) = f(θ + t·step): 2 ΣΔμ − 2 Σ n Δμ/(μ + tΔμ) + pulls."""
    d1, d2 = 0.0, 0.0
    for b in range(mu_p.size):
        q = dmu_p[b] / (mu_p[b] + t * dmu_p[b])
        nq = n[b] * q
        d1 += nq
        d2 += nq * q
    p1, p2 = 0.0, 0.0
    for k in range(theta.size):
        p1 += inv_var[k] * (theta[k] + t * step[k] - centre[k]) * step[k]
        p2 += inv_var[k] * step[k] * step[k]
    return 2.0 * (total_dmu - d1 + p1), 2.0 * (d2 + p2)


@kernel()
def _line_search(n, mu_p, dmu_p, total_dmu, theta, step, inv_var, centre, t_max):
    """Step fraction t ∈ (0, t_max] near the minimum of the convex φ(t) = f(θ + t·step)
    (φ'(0) < 0: a Newton direction): t_max if φ still falls there, else the root of φ' by
    Newton's method from t_max, safeguarded by bisection, to 1e-3 relative (any t ≤ t* lowers
    f; the next Newton step corrects the rest). No logarithm is needed."""
    lo, hi, t = 0.0, t_max, t_max
    d1, d2 = _slope(t, n, mu_p, dmu_p, total_dmu, theta, step, inv_var, centre)
    if d1 <= 0.0:
        return t_max
    for _ in range(60):
        t_new = t - d1 / d2 if d2 > 0.0 else 0.5 * (lo + hi)
        if not (lo < t_new < hi):
            t_new = 0.5 * (lo + hi)
        done = abs(t_new - t) <= 1e-3 * t_new
        t = t_new
        if done:
            break
        d1, d2 = _slope(t, n, mu_p, dmu_p, total_dmu, theta, step, inv_var, centre)
        if d1 < 0.0:
            lo = t
        else:
            hi = t
    return t
