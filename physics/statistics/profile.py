"""Exact, batched profiling of nuisances that enter the expectation linearly.

Model: μ(θ) = base + Σ_p θ_p D_p, Poisson χ² (Baker & Cousins 1984) plus Gaussian pulls
Σ_p ((θ_p − c_p)/σ_p)² (σ_p = ∞ for a free parameter). The objective is convex in θ
(−ln Poisson is convex in μ, μ is linear in θ), so a damped Newton method converges to the
global minimum. One call profiles a whole block of signals: the loop over points runs inside
a compiled kernel (``profile_kernel``, numba), no minimizer is called per point.

The directions come in three kinds, so that the caller never builds an (N, P, B) array for
directions that do not depend on the point:

- ``shared_directions`` S (n_shared, n_bins), the same for every point (background
  normalisations and shapes);
- ``scaled_directions`` R (n_scaled, n_bins) times a per-point ``scale`` s (…, n_bins),
  D = s ⊙ R (signal normalisation R = 1, relative signal-shape systematics);
- ``directions`` (…, n_varying, n_bins), arbitrary per point.

Bins with n = 0 enter the χ² as 2μ (linear in θ): they add a constant to the gradient and
nothing to the Hessian, and no logarithm is taken there; bins with equal counts share one
logarithm; bins where μ is one shared template times (1 + c θ_k) merge exactly into one
(``_Layout``). Exactness: Newton stops once its decrement gᵀH⁻¹g, or a bound on it from the
previous Hessian, is below ``tolerance``: the returned χ², f at the returned θ̂, is then
within ≈ tolerance/2 of the minimum.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics.errors import PhysicsInputError
from nubound.physics.statistics import profile_kernel as kernel

EXPERIMENT_TOLERANCE = 1e-6
"""Newton decrement gᵀH⁻¹g at which the experiments' profiles stop: χ² within ≈ 5e-7 of its
minimum. (Migrad's default stops at EDM = gᵀH⁻¹g/2 < 0.002 × tol × errordef = 2e-4.)"""


@dataclass(frozen=True)
class ProfileResult:
    """Profiled χ² (shape (...)), best-fit nuisances (..., n_par), a convergence flag and
    the number of Newton iterations (Hessians computed) per point."""

    chi2: NDArray
    theta: NDArray
    converged: NDArray
    iterations: NDArray | None = None


def profile_linear_poisson(
    observed: ArrayLike,
    base: ArrayLike,
    directions: ArrayLike | None,
    prior_sigma: ArrayLike,
    *,
    shared_directions: ArrayLike | None = None,
    scaled_directions: ArrayLike | None = None,
    scale: ArrayLike | None = None,
    scaled_base: ArrayLike | None = None,
    prior_centre: ArrayLike | None = None,
    start: ArrayLike | None = None,
    start_gain: ArrayLike | None = None,
    start_reference: ArrayLike | None = None,
    max_iterations: int = 50,
    tolerance: float = 1e-10,
) -> ProfileResult:
    """Minimise the Poisson χ² with Gaussian pulls over linear nuisances, batched.

    Parameters
    ----------
    observed : (n_bins,)
        Observed counts (non-integer allowed: Asimov data).
    base : (..., n_bins)
        Expectation at θ = 0 (must be > 0 where observed > 0); a base without batch
        dimensions is shared by all points, not copied for each.
    directions : (..., n_varying, n_bins) or None
        ∂μ/∂θ_p of parameters whose direction is arbitrary per point; broadcast against
        ``base``.
    prior_sigma : (n_par,)
        Widths of the Gaussian pulls; ``np.inf`` for an unconstrained parameter.
    shared_directions : (n_shared, n_bins), optional
        ∂μ/∂θ_p of parameters whose direction is the same for every point.
    scaled_directions : (n_scaled, n_bins), optional, with ``scale`` (..., n_bins)
        Parameters with ∂μ/∂θ_p = scale ⊙ scaled_directions[p] (e.g. the signal
        normalisation: the signal times ones).
    scaled_base : (n_bins,), optional
        Adds ``scale ⊙ scaled_base`` to the base (e.g. ones: the signal itself), so that a
        shared background plus a per-point signal needs no (..., n_bins) sum.
    prior_centre : (n_par,), optional
        Centres of the pulls (default 0).
    start : (..., n_par), optional
        Starting point (default, and instead of a start where some μ ≤ 0: the pull
        centres); any start converges to the same minimum (convex objective), a good one
        (e.g. ``LinearResponse.start``) in fewer steps.
    start_gain : (n_ref, n_par, n_bins), optional, with ``start_reference`` (...) int
        Adds ``start_gain[start_reference] @ scale`` to ``start`` (a linear response per
        point, see ``LinearResponse.offset``, computed inside the kernel); reference −1 adds
        nothing.

    Parameter order: the ``n_varying`` parameters of ``directions``, then the ``n_scaled``
    ones, then the ``n_shared`` ones. Passing a direction as shared or scaled instead of
    broadcast in ``directions`` gives the same minimum, much faster.

    Returns
    -------
    ProfileResult
        ``chi2`` (...), ``theta`` (..., n_par), ``converged`` (...), ``iterations`` (...).
    """
    n = np.asarray(observed, dtype=float)
    n_bins = n.shape[-1]
    base = np.asarray(base, dtype=float)
    d = np.zeros((0, n_bins)) if directions is None else np.asarray(directions, dtype=float)
    shared = _rows(shared_directions, n_bins)
    scaled = _rows(scaled_directions, n_bins)
    if scaled.shape[0] and scale is None:
        raise PhysicsInputError("profile_linear_poisson: scaled_directions need a scale")
    sb = np.zeros(n_bins) if scaled_base is None else np.asarray(scaled_base, dtype=float)
    if scale is None and scaled_base is not None:
        raise PhysicsInputError("profile_linear_poisson: scaled_base needs a scale")
    uses_scale = scale is not None and (scaled.shape[0] or scaled_base is not None)
    s = np.asarray(scale, dtype=float) if uses_scale else np.zeros(n_bins)
    n_var = d.shape[-2]
    n_par = n_var + scaled.shape[0] + shared.shape[0]
    sigma = np.broadcast_to(np.asarray(prior_sigma, dtype=float), (n_par,))
    inv_var = np.where(np.isinf(sigma), 0.0, 1.0 / sigma**2)
    centre = np.zeros(n_par) if prior_centre is None else np.asarray(prior_centre, dtype=float)
    centre = np.broadcast_to(centre, (n_par,))
    batch = np.broadcast_shapes(base.shape[:-1], d.shape[:-2], s.shape[:-1])
    size = int(np.prod(batch))

    def points(x, tail):  # (size, *tail), C-contiguous and writable: one numba signature
        x = x if x.shape == batch + tail else np.broadcast_to(x, batch + tail)
        return np.require(x.reshape((size,) + tail), requirements=["C", "W"])

    theta0 = centre if start is None else np.asarray(start, dtype=float)
    shared_base = base.size == n_bins
    base = (np.require(base.reshape(1, n_bins), requirements=["C", "W"]) if shared_base
            else points(base, (n_bins,)))
    d = points(d, (n_var, n_bins))
    s = points(s, (n_bins,)) if uses_scale else np.zeros((1, 0))
    scaled_bins = (s != 0).any(axis=0) if uses_scale else np.zeros(n_bins, dtype=bool)
    support = np.concatenate([(d != 0).any(axis=0), (scaled != 0) & scaled_bins, shared != 0])
    merge = (base[0], shared, n_var + scaled.shape[0], scaled_bins) if shared_base else None
    layout = _layout(n, support, merge)
    gain = np.zeros((0, n_par, n_bins)) if start_gain is None else np.asarray(start_gain, float)
    if gain.ndim != 3 or gain.shape[1:] != (n_par, n_bins):
        raise PhysicsInputError(f"profile_linear_poisson: start_gain must have shape (n_ref, "
                                f"{n_par}, {n_bins}), got {gain.shape}")
    if gain.shape[0] and not uses_scale:
        raise PhysicsInputError("profile_linear_poisson: start_gain needs a scale")
    reference = np.full(batch, -1) if start_reference is None else start_reference
    reference = points(np.asarray(reference, dtype=np.int64), ())
    if np.any((reference < -1) | (reference >= gain.shape[0])):
        raise PhysicsInputError(
            f"profile_linear_poisson: start_reference must be -1 … {gain.shape[0] - 1}")
    chi2, theta = np.empty(size), np.empty((size, n_par))
    converged = np.empty(size, dtype=bool)
    iterations = np.empty(size, dtype=np.int64)
    shared_base_p, shared_base_z = (
        r[0] for r in layout.split(base[:1] if shared_base else np.zeros((1, n_bins))))
    scaled_base_p, scaled_base_z = (r[0] for r in layout.split(sb[None]))
    scaled_p, scaled_z = layout.split(scaled)
    shared_p, shared_z = layout.split(shared)
    gain_p, gain_z = layout.split(gain)
    kernel.newton_block(
        layout.bins,
        kernel.Expectation(
            base=np.zeros((0, n_bins)) if shared_base else base,
            shared_base_p=shared_base_p, shared_base_z=shared_base_z,
            scaled_base_p=scaled_base_p, scaled_base_z=scaled_base_z, var=d, scale=s,
            scaled_p=scaled_p, scaled_z=scaled_z, shared_p=shared_p, shared_z=shared_z),
        kernel.Pulls(inv_var=inv_var, centre=np.array(centre)),
        kernel.Starts(start=points(theta0, (n_par,)), gain_p=gain_p, gain_z=gain_z,
                      reference=reference),
        kernel.Stopping(max_iterations=int(max_iterations), tolerance=float(tolerance)),
        kernel.Results(chi2=chi2, theta=theta, converged=converged, hessians=iterations),
    )
    return ProfileResult(
        chi2=chi2.reshape(batch), theta=theta.reshape(batch + (n_par,)),
        converged=converged.reshape(batch), iterations=iterations.reshape(batch),
    )


@dataclass(frozen=True)
class LinearResponse:
    """θ̂(s) ≈ theta + gain (s − signal) near a reference ``signal``: a start for the profile.

    Any start converges to the same minimum (convex objective); a start this close saves the
    first, damped Newton iterations.
    """

    signal: NDArray
    theta: NDArray
    gain: NDArray

    @property
    def offset(self) -> NDArray:
        """θ̂ at zero signal to first order: start = offset + gain @ signal."""
        return self.theta - self.gain @ self.signal

    def start(self, signal: NDArray) -> NDArray:
        """Predicted θ̂ for signals (..., n_bins) → (..., n_par)."""
        return np.asarray(signal, dtype=float) @ self.gain.T + self.offset


def linear_response(
    observed: ArrayLike,
    background: ArrayLike,
    signal: ArrayLike,
    prior_sigma: ArrayLike,
    *,
    scaled_directions: ArrayLike | None = None,
    shared_directions: ArrayLike | None = None,
) -> LinearResponse:
    """dθ̂/ds at ``signal`` for μ = background + s ⊙ (1 + Σ_k θ_k R_k) + Σ_q θ_q S_q.

    Implicit function theorem on ∇_θ f(θ̂(s), s) = 0: dθ̂/ds = −H⁻¹ ∂²f/∂θ∂s, with
    ∂²f/∂θ_p∂s_b = 2 [∂D_pb/∂s_b (1 − n_b/μ_b) + D_pb n_b a_b/μ_b²], a_b = ∂μ_b/∂s_b =
    1 + Σ_k θ_k R_kb, ∂D/∂s = R for the scaled directions and 0 for the shared ones (f and H
    as in ``profile_kernel``). Pull centres are 0. Parameter order as ``profile_linear_poisson``
    with ``scale = s``: the scaled directions, then the shared ones.
    """
    n = np.asarray(observed, dtype=float)
    s = np.asarray(signal, dtype=float)
    scaled, shared = _rows(scaled_directions, n.size), _rows(shared_directions, n.size)
    fit = profile_linear_poisson(n, np.asarray(background, dtype=float) + s, None, prior_sigma,
                                 scaled_directions=scaled, scale=s, shared_directions=shared)
    theta = fit.theta
    d = np.concatenate([s * scaled, shared])
    mu = np.asarray(background, dtype=float) + s + theta @ d
    ratio = np.divide(n, mu, out=np.zeros_like(mu), where=n > 0)
    sigma = np.broadcast_to(np.asarray(prior_sigma, dtype=float), theta.shape)
    inv_var = np.where(np.isinf(sigma), 0.0, 1.0 / sigma**2)
    hess = 2.0 * (d * ratio / np.where(n > 0, mu, 1.0)) @ d.T + 2.0 * np.diag(inv_var)
    a = 1.0 + theta[: scaled.shape[0]] @ scaled
    dd_ds = np.concatenate([scaled, np.zeros_like(shared)])
    mixed = 2.0 * (dd_ds * (1.0 - ratio) + d * ratio * a / np.where(n > 0, mu, 1.0))
    ridge = 1e-12 * max(1.0, np.abs(np.diag(hess)).max()) * np.eye(len(theta))
    return LinearResponse(signal=s, theta=theta, gain=-np.linalg.solve(hess + ridge, mixed))


REFERENCE_SCALES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
"""Multiples of the SM signal around which the experiments linearise θ̂ (profile starts)."""


def reference_responses(
    observed: ArrayLike,
    background: ArrayLike,
    sm_signal: ArrayLike,
    prior_sigma: ArrayLike,
    *,
    scaled_directions: ArrayLike | None = None,
    shared_directions: ArrayLike | None = None,
) -> tuple[LinearResponse, ...]:
    """``linear_response`` around each of ``REFERENCE_SCALES`` × the SM signal."""
    sm = np.asarray(sm_signal, dtype=float)
    return tuple(
        linear_response(observed, background, a * sm, prior_sigma,
                        scaled_directions=scaled_directions, shared_directions=shared_directions)
        for a in REFERENCE_SCALES)


def nearest_reference(totals: ArrayLike, references: tuple[LinearResponse, ...]
                      ) -> tuple[NDArray, NDArray, NDArray]:
    """Starts for ``profile_linear_poisson`` from linear responses around several reference
    signals: each signal, by its total (m,), takes the reference whose total is nearest, so
    that mostly its shape is linearised. Returns ``start`` (m, n_par) (the offsets),
    ``start_gain`` (n_ref, n_par, n_bins) and ``start_reference`` (m,)."""
    reference_totals = np.array([r.signal.sum() for r in references])
    nearest = np.abs(np.asarray(totals, dtype=float)[:, None] - reference_totals).argmin(axis=1)
    offsets = np.stack([r.offset for r in references])
    return offsets[nearest], np.stack([r.gain for r in references]), nearest


class _Layout:
    """The bins as the kernel reads them. Bins with n > 0 (``pos``) come in blocks of equal
    support (the set of directions not identically zero there, over all points of the
    call): the kernel sums each block over its own directions only, so background and signal
    directions that live in different corners of the data cost nothing where they vanish.
    Within a block, bins are sorted by count (equal counts are neighbours, see
    ``_equal_count_groups``). Bins with n = 0: ``zero``. Also the constant 2 Σ (n ln n − n)
    and the self-concordance constant κ (1, or 1/n_min if some 0 < n < 1).

    Bins where μ is one shared template times (1 + c θ_k) (``_proportional_groups``: e.g. the
    steady state alone) enter as one merged bin each group, exactly: their χ² differs from the
    merged bin's by a constant, added to ``const``. The kernel reads such a bin's per-point
    values at index n_bins (zero) and its shared rows and base from ``split`` (group sums).
    """

    def __init__(self, n, support, merge=None):
        n_bins = n.size
        groups = _proportional_groups(n, support, *merge) if merge is not None else []
        merged = np.zeros(n_bins, dtype=bool)
        for g in groups:
            merged[g] = True
        self.groups = groups
        n_ext = np.concatenate([n, [n[g].sum() for g in groups]])
        support = np.concatenate([support, support[:, [g[0] for g in groups]]], axis=1)
        columns = np.concatenate([np.flatnonzero(~merged), n_bins + np.arange(len(groups))])
        pos = columns[n_ext[columns] > 0]
        patterns, block = np.unique(support[:, pos].T, axis=0, return_inverse=True)
        patterns, block = _merge_blocks(patterns, block.ravel())
        order = np.lexsort((n_ext[pos], block))
        self.pos_ext, self.zero_ext = pos[order], columns[n_ext[columns] == 0]
        self.pos = np.minimum(self.pos_ext, n_bins)  # merged bins read index n_bins
        self.zero = np.minimum(self.zero_ext, n_bins)
        sizes = np.bincount(block, minlength=len(patterns))
        rows = [np.flatnonzero(pat) for pat in patterns]
        self.blocks = (
            np.concatenate([[0], np.cumsum(sizes)]),
            np.concatenate([[0], np.cumsum([r.size for r in rows])]).astype(np.int64),
            np.concatenate(rows + [np.zeros(0, dtype=np.int64)]).astype(np.int64),
        )
        self.counts = np.ascontiguousarray(n_ext[self.pos_ext])
        self.starts, group_counts = _equal_count_groups(self.counts)
        self.class_values, self.group_class = np.unique(group_counts, return_inverse=True)
        self.const = 2.0 * float(np.sum(self.counts * np.log(self.counts) - self.counts))
        if merge is not None:
            self.const += sum(_merged_constant(n[g], merge[0][g]) for g in groups)
        self.kappa = max(1.0, 1.0 / self.counts.min()) if self.counts.size else 1.0
        self.bins = kernel.Bins(
            counts=self.counts, pos=self.pos, zero=self.zero, log_starts=self.starts,
            log_class=self.group_class.astype(np.int64), log_counts=self.class_values,
            const=float(self.const), kappa=float(self.kappa), blocks=kernel.Blocks(*self.blocks))

    def split(self, rows):
        """Rows (..., n_bins) → (rows on ``pos``, rows on ``zero``), contiguous; a merged bin
        holds its group's sum."""
        if self.groups:
            rows = np.concatenate(
                [rows, np.stack([rows[..., g].sum(axis=-1) for g in self.groups], axis=-1)],
                axis=-1)
        return (np.ascontiguousarray(rows[..., self.pos_ext]),
                np.ascontiguousarray(rows[..., self.zero_ext]))


def _proportional_groups(n, support, base, shared, first_shared, scaled_bins, rtol=1e-12):
    """Groups (≥ 2 bins, all n > 0 or all n = 0) where only the shared direction k is nonzero,
    no point has a scale, and S_k ∝ base: there μ_b = base_b (1 + c θ_k) for every point."""
    single = (support.sum(axis=0) == 1) & ~scaled_bins & (base > 0)
    row = support.argmax(axis=0)
    groups = []
    for k in range(shared.shape[0]):
        for counted in (True, False):
            bins = np.flatnonzero(single & (row == first_shared + k) & ((n > 0) == counted))
            if bins.size < 2:
                continue
            ratio = shared[k, bins] / base[bins]
            same = np.abs(ratio - np.median(ratio)) <= rtol * np.abs(np.median(ratio))
            if same.sum() >= 2:
                groups.append(bins[same])
    return groups


def _merged_constant(n, base):
    """χ²(bins) − χ²(merged bin) for μ_b = base_b F (Baker–Cousins terms; any F):
    2 [Σ n ln n − N ln N − Σ n ln base + N ln Σ base]."""
    total = n.sum()
    if total == 0:
        return 0.0
    counted = n > 0
    return 2.0 * float(np.sum(n[counted] * np.log(n[counted] / base[counted]))
                       - total * np.log(total / base.sum()))


_BLOCK_OVERHEAD_BINS = 32  # a block's cost per direction and pair, in bins (benchmarked: 0–256)


def _merge_blocks(patterns, block):
    """Merge blocks of bins while the sums over bins get cheaper: a sum over a block costs
    about its bins + ``_BLOCK_OVERHEAD_BINS`` per active direction and direction pair (the
    gradient and the Hessian); a merged block's directions are the union. Returns the new
    patterns and the block of each bin."""
    patterns = [p.copy() for p in patterns]
    sizes = list(np.bincount(block, minlength=len(patterns)))
    members = [[k] for k in range(len(patterns))]

    def cost(pattern, size):
        k = int(pattern.sum())
        return (k + k * (k + 1) // 2) * (size + _BLOCK_OVERHEAD_BINS)

    while len(patterns) > 1:
        gain, i, j = max(
            (cost(patterns[i], sizes[i]) + cost(patterns[j], sizes[j])
             - cost(patterns[i] | patterns[j], sizes[i] + sizes[j]), i, j)
            for i in range(len(patterns)) for j in range(i + 1, len(patterns)))
        if gain <= 0:
            break
        patterns[i] = patterns[i] | patterns.pop(j)
        sizes[i] += sizes.pop(j)
        members[i] += members.pop(j)
    new = np.empty(sum(len(m) for m in members), dtype=np.int64)
    for k, m in enumerate(members):
        new[m] = k
    return np.array(patterns), new[block]


_LAYOUTS: dict[tuple, _Layout] = {}
_MAX_LAYOUTS = 16
_LAYOUTS_LOCK = threading.Lock()


def _layout(n: NDArray, support: NDArray, merge: tuple | None) -> _Layout:
    """``_Layout`` of counts, support and merge inputs, remembered for the next calls (a scan
    profiles block after block against the same data: its layout costs ≈ 1 ms to build)."""
    key = (n.tobytes(), support.shape, np.packbits(support).tobytes())
    if merge is not None:
        base, shared, first, scaled_bins = merge
        key += (base.tobytes(), shared.tobytes(), first, np.packbits(scaled_bins).tobytes())
    with _LAYOUTS_LOCK:  # (threaded Dask workers share the module)
        if key not in _LAYOUTS:
            if len(_LAYOUTS) >= _MAX_LAYOUTS:
                _LAYOUTS.pop(next(iter(_LAYOUTS)))
            _LAYOUTS[key] = _Layout(n, support, merge)
        return _LAYOUTS[key]


def _rows(x, n_bins):
    return np.zeros((0, n_bins)) if x is None else np.asarray(x, dtype=float).reshape(-1, n_bins)


def _equal_count_groups(n, size=16):
    """(starts, n value) of runs of ≤ ``size`` equal neighbouring counts (one product each: the
    product of 16 factors in (1e-17, 1e17) neither overflows nor loses more than 16 ulp; the
    kernel joins the products of equal counts); one group per bin if the runs would not cut
    the number of products by 3 or more (non-integer Asimov data)."""
    if n.size == 0:
        return np.zeros(0, dtype=np.int64), n
    new = np.ones(n.size, dtype=bool)
    new[1:] = n[1:] != n[:-1]
    run_start = np.maximum.accumulate(np.where(new, np.arange(n.size), 0))
    new |= (np.arange(n.size) - run_start) % size == 0
    starts = np.flatnonzero(new)
    if 3 * starts.size > n.size:
        starts = np.arange(n.size)
    return starts, n[starts]
