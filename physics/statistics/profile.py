"""Exact, batched profiling of nuisances that enter the expectation linearly.

Model: μ(θ) = base + Σ_p θ_p D_p, Poisson χ² (Baker & Cousins 1984) plus Gaussian pulls
Σ_p ((θ_p − c_p)/σ_p)² (σ_p = ∞ for a free parameter). The objective is convex in θ
(−ln Poisson is convex in μ, μ is linear in θ), so a damped Newton method converges to the
global minimum; it runs on a whole block of signals at once (no per-point minimizer).

Speed: the directions come in three kinds, each with its own storage:

- ``shared_directions`` S (n_shared, n_bins), the same for every point (background
  normalisations and shapes);
- ``scaled_directions`` R (n_scaled, n_bins) times a per-point ``scale`` s (…, n_bins),
  D = s ⊙ R (signal normalisation R = 1, relative signal-shape systematics);
- ``directions`` (…, n_varying, n_bins), arbitrary per point (the general, slow case).

Every gradient/Hessian block of the first two kinds is one matrix product over the whole
block of points (BLAS) with fixed products of rows, e.g. H_SS = w @ [S_i S_j]ᵀ,
H_RS = (s w) @ [R_i S_j]ᵀ, H_RR = (s² w) @ [R_i R_j]ᵀ with w = n/μ². Bins with n = 0 enter the
χ² as 2μ (linear in θ): they add a constant to the gradient and nothing to the Hessian, and
no logarithm is taken there; bins with equal counts share one logarithm (``sum_n_log``).
Exactness: Newton stops when its decrement is below ``tolerance`` (the χ² is then within
≈ tolerance/2 of the minimum), and the returned χ² is evaluated at θ̂ in full.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics.errors import PhysicsInputError
from nubound.physics.statistics.batched_linalg import (
    add_symmetric,
    put_symmetric,
    row_pairs,
    solve_spd,
    step_cap,
)

# target size of one block of points (floats per per-point array): large enough that the
# numpy call overhead is small, small enough to stay in cache
_BLOCK_FLOATS = 100_000


@dataclass(frozen=True)
class ProfileResult:
    """Profiled χ² (shape (...)), best-fit nuisances (..., n_par) and a convergence flag."""

    chi2: NDArray
    theta: NDArray
    converged: NDArray


def profile_linear_poisson(
    observed: ArrayLike,
    base: ArrayLike,
    directions: ArrayLike | None,
    prior_sigma: ArrayLike,
    *,
    shared_directions: ArrayLike | None = None,
    scaled_directions: ArrayLike | None = None,
    scale: ArrayLike | None = None,
    prior_centre: ArrayLike | None = None,
    start: ArrayLike | None = None,
    max_iterations: int = 50,
    tolerance: float = 1e-10,
) -> ProfileResult:
    """Minimise the Poisson χ² with Gaussian pulls over linear nuisances, batched.

    Parameters
    ----------
    observed : (n_bins,)
        Observed counts (non-integer allowed: Asimov data).
    base : (..., n_bins)
        Expectation at θ = 0 (must be > 0 where observed > 0).
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
    prior_centre : (n_par,), optional
        Centres of the pulls (default 0).
    start : (..., n_par), optional
        Starting point (default: a weighted least-squares fit); any start converges to the
        same minimum (convex objective), a good one in fewer steps.

    Parameter order: the ``n_varying`` parameters of ``directions``, then the ``n_scaled``
    ones, then the ``n_shared`` ones. Passing a direction as shared or scaled instead of
    broadcast in ``directions`` gives the same minimum, much faster.

    Returns
    -------
    ProfileResult
        ``chi2`` (...), ``theta`` (..., n_par), ``converged`` (...).
    """
    n = np.asarray(observed, dtype=float)
    n_bins = n.shape[-1]
    base = np.asarray(base, dtype=float)
    d = np.zeros((0, n_bins)) if directions is None else np.asarray(directions, dtype=float)
    shared = _rows(shared_directions, n_bins)
    scaled = _rows(scaled_directions, n_bins)
    if scaled.shape[0] and scale is None:
        raise PhysicsInputError("profile_linear_poisson: scaled_directions need a scale")
    s = np.zeros(n_bins) if scale is None or not scaled.shape[0] else np.asarray(scale, float)
    n_var = d.shape[-2]
    n_par = n_var + scaled.shape[0] + shared.shape[0]
    sigma = np.broadcast_to(np.asarray(prior_sigma, dtype=float), (n_par,))
    inv_var = np.where(np.isinf(sigma), 0.0, 1.0 / sigma**2)
    centre = np.zeros(n_par) if prior_centre is None else np.asarray(prior_centre, dtype=float)
    centre = np.broadcast_to(centre, (n_par,))
    batch = np.broadcast_shapes(base.shape[:-1], d.shape[:-2], s.shape[:-1])
    size = int(np.prod(batch))
    model = _Model(n, scaled, shared, inv_var, centre)
    base = np.broadcast_to(base, batch + (n_bins,)).reshape(size, n_bins)
    d = np.broadcast_to(d, batch + (n_var, n_bins)).reshape(size, n_var, n_bins)
    s = np.broadcast_to(s, batch + (n_bins,)).reshape(size, n_bins) if scaled.shape[0] else None
    theta0 = None
    if start is not None:
        theta0 = np.broadcast_to(np.asarray(start, dtype=float), batch + (n_par,))
        theta0 = theta0.reshape(size, n_par)
    chi2, theta = np.empty(size), np.empty((size, n_par))
    converged = np.empty(size, dtype=bool)
    rows = max(32, _BLOCK_FLOATS // (n_bins * (n_var + 1)))
    for lo in range(0, size, rows):
        sl = slice(lo, lo + rows)
        block = _Block.new(model, base[sl], None if s is None else s[sl], d[sl])
        chi2[sl], theta[sl], converged[sl] = model.newton(
            block, None if theta0 is None else theta0[sl], max_iterations, tolerance
        )
    return ProfileResult(
        chi2=chi2.reshape(batch), theta=theta.reshape(batch + (n_par,)),
        converged=converged.reshape(batch),
    )


def _rows(x, n_bins):
    return np.zeros((0, n_bins)) if x is None else np.asarray(x, dtype=float).reshape(-1, n_bins)


class _Block:
    """Per-point arrays of a block of points (rows), split into bins with n > 0 (``p``,
    contiguous: all the heavy work) and bins with n = 0 (``z``)."""

    names = ("base_p", "base_z", "s_p", "s_z", "d_p", "d_z", "d_zero", "s_zero")

    @classmethod
    def new(cls, model, base, s, d):
        out = object.__new__(cls)
        out.base_p, out.base_z = model.split(base)
        out.s_p, out.s_z = (None, None) if s is None else model.split(s)
        out.d_p, out.d_z = model.split(d)
        # gradient of the n = 0 bins' χ² terms 2μ: constant per point
        out.d_zero = out.d_z.sum(axis=-1)
        out.s_zero = None if s is None else out.s_z @ model.r_z.T
        return out

    def take(self, idx):
        out = object.__new__(_Block)
        for name in self.names:
            x = getattr(self, name)
            setattr(out, name, None if x is None else x[idx])
        return out


class _Model:
    """Point-independent parts of the fit: data, shared and scaled rows, their products."""

    def __init__(self, n, scaled, shared, inv_var, centre):
        pos = n > 0
        # bins with n > 0 sorted by n: equal counts are neighbours (see ``sum_n_log``)
        self.pos = np.flatnonzero(pos)[np.argsort(n[pos], kind="stable")]
        self.zero = np.flatnonzero(~pos)
        self.n = n[self.pos]
        self.groups = _equal_count_groups(self.n)
        # χ² = 2 Σ μ − 2 Σ_{n>0} n ln μ + const, const = 2 Σ_{n>0} (n ln n − n)
        self.const = 2.0 * float(np.sum(self.n * np.log(self.n) - self.n))
        # self-concordance constant of Σ −n ln μ: 2/√n_min if some 0 < n < 1 (Asimov data)
        self.kappa = max(1.0, 1.0 / self.n.min()) if self.n.size else 1.0
        self.n_shared, self.n_scaled = shared.shape[0], scaled.shape[0]
        self.inv_var, self.centre = inv_var, centre
        sp, sz = self.split(shared)
        rp, rz = self.split(scaled)
        self.s_p, self.s_z, self.r_p, self.r_z = sp, sz, rp, rz
        self.shared_zero = sz.sum(axis=-1)
        self.tables_p = (row_pairs(sp, sp, True), row_pairs(rp, sp, False), row_pairs(rp, rp, True),
                         sp, rp)
        self.tables_z = (row_pairs(sz, sz, True), row_pairs(rz, sz, False), row_pairs(rz, rz, True),
                         sz, rz)
        # weighted least-squares start: weights 1/max(n, 1)
        self.wt = 1.0 / np.maximum(self.n, 1.0)

    def split(self, x):
        """(bins with n > 0, bins with n = 0) of x (last axis), contiguous."""
        return np.ascontiguousarray(x[..., self.pos]), np.ascontiguousarray(x[..., self.zero])

    # --- pieces --------------------------------------------------------------------------
    def sum_n_log(self, x):
        """Σ_{n>0} n ln x per row (x > 0). Counts are integers for real data, so bins share
        values of n: Σ n ln x = Σ_groups n_g ln(Π_g x), one logarithm per group of ≤ 16
        bins (the product of 16 factors in (1e-17, 1e17) neither overflows nor loses more
        than 16 ulp); rows whose products leave (1e-280, 1e280) take the plain sum."""
        if self.groups is None:
            return np.log(x) @ self.n
        starts, values = self.groups
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            prod = np.multiply.reduceat(x, starts, axis=-1)
            out = np.log(prod) @ values
        plain = ~np.all((prod > 1e-280) & (prod < 1e280), axis=-1)
        if plain.any():
            out[plain] = np.log(x[plain]) @ self.n
        return out

    def shift(self, blk, theta):
        """Σ_p θ_p D_p on both bin sets: matrix products for the shared and scaled rows."""
        tv, tr, ts = (theta[:, :blk.d_p.shape[1]],
                      theta[:, blk.d_p.shape[1]:-self.n_shared or None],
                      theta[:, theta.shape[1] - self.n_shared:])
        out = []
        for sh, sc, s, d in ((self.s_p, self.r_p, blk.s_p, blk.d_p),
                             (self.s_z, self.r_z, blk.s_z, blk.d_z)):
            x = ts @ sh if self.n_shared else np.zeros((theta.shape[0], sh.shape[1]))
            if self.n_scaled:
                x += s * (tr @ sc)
            for i in range(tv.shape[1]):
                x += tv[:, i, None] * d[:, i]
            out.append(x)
        return out

    def objective(self, mu_p, mu_z, theta):
        """χ² + pulls from μ (rows); +∞ outside the domain (μ < 0, or μ = 0 where n > 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            value = 2.0 * (mu_p.sum(axis=-1) + mu_z.sum(axis=-1)) + self.const
            value -= 2.0 * self.sum_n_log(mu_p)
        value += ((theta - self.centre) ** 2) @ self.inv_var
        ok = (mu_p.min(axis=-1, initial=np.inf) > 0) & (mu_z.min(axis=-1, initial=np.inf) >= 0)
        return np.where(ok & ~np.isnan(value), value, np.inf)

    def _gram(self, w, s, d, tables, out, add=False):
        """out[:, i, j] (+)= Σ_b w D_i D_j (weights w (N, B) or (B,)); matrix products with
        the fixed row products ``tables`` = (SS pairs, RS pairs, RR pairs, S rows, R rows)."""
        nv, nr = d.shape[1], self.n_scaled
        o_r, o_s = nv, nv + nr
        (ss, si, sj), (rs, ri, rj), (rr, qi, qj), s_rows, r_rows = tables
        put = add_symmetric if add else put_symmetric
        if self.n_shared:
            put(out, o_s + si, o_s + sj, w @ ss.T)
        if nr:
            sw = s * w
            if self.n_shared:
                put(out, o_r + ri, o_s + rj, sw @ rs.T)
            put(out, o_r + qi, o_r + qj, (sw * s) @ rr.T)
        for a in range(nv):
            dw = d[:, a] * w
            idx = np.arange(nv, nv + nr + self.n_shared)
            if nr + self.n_shared:
                cross = [(dw * s) @ r_rows.T, dw @ s_rows.T] if nr else [dw @ s_rows.T]
                put(out, np.full(idx.size, a), idx, np.hstack(cross))
            for b in range(a, nv):
                put(out, [a], [b], np.einsum("nb,nb->n", dw, d[:, b])[:, None])

    def gradient_hessian(self, mu_p, blk, theta):
        """Gradient (N, P) and Hessian (N, P, P) of the objective."""
        nv, nr = blk.d_p.shape[1], self.n_scaled
        ratio = self.n / mu_p
        w = ratio / mu_p
        resid = 1.0 - ratio
        n_par = nv + nr + self.n_shared
        grad = np.empty((mu_p.shape[0], n_par))
        hess = np.empty((mu_p.shape[0], n_par, n_par))
        grad[:, nv + nr:] = resid @ self.s_p.T + self.shared_zero
        if nr:
            grad[:, nv:nv + nr] = (resid * blk.s_p) @ self.r_p.T + blk.s_zero
        for a in range(nv):
            grad[:, a] = np.einsum("nb,nb->n", blk.d_p[:, a], resid) + blk.d_zero[:, a]
        self._gram(w, blk.s_p, blk.d_p, self.tables_p, hess)
        grad *= 2.0
        grad += 2.0 * self.inv_var * (theta - self.centre)
        hess *= 2.0
        hess += 2.0 * np.diag(self.inv_var)
        return grad, hess

    def start(self, blk):
        """Gaussian approximation (weights 1/max(n, 1)) of the fit, if it keeps μ > 0; else c."""
        nv, nr = blk.d_p.shape[1], self.n_scaled
        n_par = nv + nr + self.n_shared
        rows = blk.base_p.shape[0]
        lhs = np.empty((rows, n_par, n_par))
        rhs = np.zeros((rows, n_par))
        parts = ((self.wt * (self.n - blk.base_p), blk.s_p, blk.d_p, self.s_p, self.r_p),
                 (-blk.base_z, blk.s_z, blk.d_z, self.s_z, self.r_z))
        for resid, s, d, sh, sc in parts:
            rhs[:, nv + nr:] += resid @ sh.T
            if nr:
                rhs[:, nv:nv + nr] += (resid * s) @ sc.T
            for a in range(nv):
                rhs[:, a] += np.einsum("nb,nb->n", d[:, a], resid)
        self._gram(self.wt, blk.s_p, blk.d_p, self.tables_p, lhs)
        self._gram(np.ones(blk.base_z.shape[1]), blk.s_z, blk.d_z, self.tables_z, lhs, True)
        lhs += np.diag(self.inv_var)
        rhs += self.inv_var * self.centre
        theta = solve_spd(lhs, rhs)
        mu_p, mu_z = self.shift(blk, theta)
        mu_p += blk.base_p
        mu_z += blk.base_z
        ok = ((mu_p.min(axis=-1, initial=np.inf) > 0)
              & (mu_z.min(axis=-1, initial=np.inf) >= 0))
        if not ok.all():
            theta[~ok] = self.centre
            sub = blk.take(~ok)
            dp, dz = self.shift(sub, theta[~ok])
            mu_p[~ok], mu_z[~ok] = sub.base_p + dp, sub.base_z + dz
        return theta, mu_p, mu_z

    # --- Newton ----------------------------------------------------------------------------
    def newton(self, blk, theta0, max_iterations, tolerance):
        """Damped Newton on one block of points: (χ², θ̂, converged).

        λ² = κ × decrement/2 is the Newton decrement of the self-concordant χ²/2 (κ = 1, or
        1/n_min if some 0 < n < 1). Results of Nesterov, Introductory Lectures on Convex
        Optimization (2004), §4.1.5, used to skip work that cannot change the outcome:
        a full step with λ ≤ 1/2 stays in the domain and lowers χ² (Thms 4.1.5, 4.1.8:
        f(x⁺) ≤ f(x) − λ² + ω*(λ)), so it is taken without a χ² evaluation; the damped step
        1/(1+λ) lowers χ² always (Thm 4.1.12); after a full step λ⁺ ≤ (λ/(1−λ))² (Thm
        4.1.14), so once that bound puts the next decrement below ``tolerance`` the point is
        converged after the step without a further Hessian.
        """
        if theta0 is None:
            theta, mu_p, mu_z = self.start(blk)
        else:
            theta = theta0.copy()
            mu_p, mu_z = self.shift(blk, theta)
            mu_p += blk.base_p
            mu_z += blk.base_z
        block = blk
        converged = np.zeros(theta.shape[0], dtype=bool)
        active = np.arange(theta.shape[0])
        th = theta
        for _ in range(max_iterations):
            grad, hess = self.gradient_hessian(mu_p, blk, th)
            step = -solve_spd(hess, grad)
            decrement = -np.einsum("np,np->n", grad, step)
            lam = np.sqrt(np.maximum(decrement * self.kappa / 2.0, 0.0))
            st = _Trial(mu_p, mu_z, *self.shift(blk, step), th, step)
            done = decrement < tolerance
            bound = 2.0 * (np.minimum(lam, 0.5) / (1.0 - np.minimum(lam, 0.5))) ** 4 / self.kappa
            sure = st.inside & (lam < 0.5) & (bound < tolerance)  # next decrement ≤ bound
            finished = done | sure
            go = ~finished
            if finished.any():
                idx = active[finished]
                converged[idx] = True
                theta[idx] = th[finished] + step[finished]  # (last, tiny) full step
                active = active[go]
                if active.size == 0:
                    break
            check = go & ~(st.inside & (lam <= 0.5))
            if check.any():
                self._checked_step(st, lam, check)
            th = st.th + st.frac[:, None] * st.step
            mu_p, mu_z = st.mu_p_t, st.mu_z_t
            if finished.any():  # the remaining rows only
                blk, th, mu_p, mu_z = blk.take(go), th[go], mu_p[go], mu_z[go]
            theta[active] = th
        dp, dz = self.shift(block, theta)
        chi2 = self.objective(block.base_p + dp, block.base_z + dz, theta)
        return chi2, theta, converged

    def _checked_step(self, st, lam, rows):
        """Rows ``rows``: the full Newton step, capped to stay in the domain μ > 0, if it
        lowers χ²; otherwise the damped step 1/(1+λ). Updates ``st`` in place."""
        sub = st.take(rows)
        out = ~sub.inside
        if out.any():
            sub.set_frac(out, np.minimum(1.0, sub.cap(out)))
        # χ² change: 2 Σ Δμ − 2 Σ_{n>0} n ln(μ_trial/μ) + Δpulls (no χ² value needed)
        frac = sub.frac[:, None]
        th_t = sub.th + frac * sub.step
        with np.errstate(divide="ignore", invalid="ignore"):
            change = 2.0 * frac[:, 0] * (sub.dmu_p.sum(axis=-1) + sub.dmu_z.sum(axis=-1))
            change -= 2.0 * self.sum_n_log(sub.mu_p_t / sub.mu_p)
        change += (((th_t - self.centre) ** 2 - (sub.th - self.centre) ** 2) @ self.inv_var)
        worse = ~(change <= 0.0)
        if worse.any():
            damped = np.minimum(1.0 / (1.0 + lam[rows][worse]), sub.cap(worse))
            sub.set_frac(worse, damped)
        st.frac[rows] = sub.frac
        st.mu_p_t[rows], st.mu_z_t[rows] = sub.mu_p_t, sub.mu_z_t


class _Trial:
    """μ, its change along the Newton step and the trial point μ + frac·Δμ (rows)."""

    names = ("mu_p", "mu_z", "dmu_p", "dmu_z", "th", "step", "frac", "mu_p_t", "mu_z_t",
             "inside")

    def __init__(self, mu_p, mu_z, dmu_p, dmu_z, th, step):
        self.mu_p, self.mu_z, self.dmu_p, self.dmu_z = mu_p, mu_z, dmu_p, dmu_z
        self.th, self.step = th, step
        self.frac = np.ones(th.shape[0])
        self.mu_p_t, self.mu_z_t = mu_p + dmu_p, mu_z + dmu_z
        self.inside = ((self.mu_p_t.min(axis=-1, initial=np.inf) > 0)
                       & (self.mu_z_t.min(axis=-1, initial=np.inf) >= 0))

    def take(self, rows):
        out = object.__new__(_Trial)
        for name in self.names:
            setattr(out, name, getattr(self, name)[rows])
        return out

    def cap(self, rows):
        return np.minimum(step_cap(self.mu_p[rows], self.dmu_p[rows]),
                          step_cap(self.mu_z[rows], self.dmu_z[rows]))

    def set_frac(self, rows, frac):
        self.frac[rows] = frac
        self.mu_p_t[rows] = self.mu_p[rows] + frac[:, None] * self.dmu_p[rows]
        self.mu_z_t[rows] = self.mu_z[rows] + frac[:, None] * self.dmu_z[rows]


def _equal_count_groups(n, size=16):
    """(starts, n value) of runs of ≤ ``size`` equal sorted counts, or None if the runs
    would not cut the number of logarithms by 3 or more (non-integer Asimov data)."""
    if n.size == 0:
        return None
    new = np.ones(n.size, dtype=bool)
    new[1:] = n[1:] != n[:-1]
    run_start = np.maximum.accumulate(np.where(new, np.arange(n.size), 0))
    new |= (np.arange(n.size) - run_start) % size == 0
    starts = np.flatnonzero(new)
    return (starts, n[starts]) if 3 * starts.size <= n.size else None
