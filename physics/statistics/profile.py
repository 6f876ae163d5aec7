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
no logarithm is taken there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

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
        raise ValueError("profile_linear_poisson: scaled_directions need a scale (..., n_bins)")
    s = np.zeros(n_bins) if scale is None else np.asarray(scale, dtype=float)
    n_var = d.shape[-2]
    n_par = n_var + scaled.shape[0] + shared.shape[0]
    sigma = np.broadcast_to(np.asarray(prior_sigma, dtype=float), (n_par,))
    inv_var = np.where(np.isinf(sigma), 0.0, 1.0 / sigma**2)
    centre = np.zeros(n_par) if prior_centre is None else np.asarray(prior_centre, dtype=float)
    centre = np.broadcast_to(centre, (n_par,))
    batch = np.broadcast_shapes(base.shape[:-1], d.shape[:-2], s.shape[:-1])
    size = int(np.prod(batch))
    model = _Model(n, scaled, shared, inv_var, centre)
    base = model.order(np.broadcast_to(base, batch + (n_bins,)).reshape(size, n_bins))
    d = model.order(np.broadcast_to(d, batch + (n_var, n_bins)).reshape(size, n_var, n_bins))
    s = model.order(np.broadcast_to(s, batch + (n_bins,)).reshape(size, n_bins))
    theta0 = None
    if start is not None:
        theta0 = np.broadcast_to(np.asarray(start, dtype=float), batch + (n_par,))
        theta0 = theta0.reshape(size, n_par)
    chi2, theta = np.empty(size), np.empty((size, n_par))
    converged = np.empty(size, dtype=bool)
    rows = max(32, _BLOCK_FLOATS // (n_bins * (n_var + 1)))
    for lo in range(0, size, rows):
        sl = slice(lo, lo + rows)
        block = _Block(model, base[sl], s[sl], d[sl])
        chi2[sl], theta[sl], converged[sl] = model.newton(
            block, None if theta0 is None else theta0[sl], max_iterations, tolerance
        )
    return ProfileResult(
        chi2=chi2.reshape(batch), theta=theta.reshape(batch + (n_par,)),
        converged=converged.reshape(batch),
    )


def _rows(x, n_bins):
    return np.zeros((0, n_bins)) if x is None else np.asarray(x, dtype=float).reshape(-1, n_bins)


def _pairs(a, b, upper):
    """Row products a_i b_j (upper: i ≤ j, a = b) and their (i, j) indices."""
    i, j = np.triu_indices(a.shape[0]) if upper else np.indices((a.shape[0], b.shape[0]))
    i, j = i.ravel(), j.ravel()
    return a[i] * b[j], i, j


class _Block:
    """Per-point arrays of a block of points (rows), bins ordered as in ``_Model``."""

    def __init__(self, model, base, s, d):
        k = model.k
        self.base, self.s, self.d = base, s, d
        # gradient from the n = 0 bins (χ² term 2μ): constant per point
        self.d_zero = d[:, :, k:].sum(axis=-1)
        self.s_zero = s[:, k:] @ model.scaled[:, k:].T

    def take(self, idx):
        out = object.__new__(_Block)
        for name in ("base", "s", "d", "d_zero", "s_zero"):
            setattr(out, name, getattr(self, name)[idx])
        return out


class _Model:
    """Point-independent parts of the fit: data, shared and scaled rows, their products.

    Bins are reordered once so that those with n > 0 come first (``k`` of them).
    """

    def __init__(self, n, scaled, shared, inv_var, centre):
        pos = n > 0
        self.perm = None if pos.all() else np.concatenate([np.flatnonzero(pos),
                                                           np.flatnonzero(~pos)])
        k = self.k = int(pos.sum())
        self.n = n[pos]
        # self-concordance constant of Σ −n ln μ: 2/√n_min if some 0 < n < 1 (Asimov data)
        self.kappa = max(1.0, 1.0 / self.n.min()) if k else 1.0
        # χ² = 2 Σ μ − 2 Σ_{n>0} n ln μ + const, const = 2 Σ_{n>0} (n ln n − n)
        self.const = 2.0 * float(np.sum(self.n * np.log(self.n) - self.n))
        self.shared, self.scaled = self.order(shared), self.order(scaled)
        self.n_shared, self.n_scaled = shared.shape[0], scaled.shape[0]
        self.inv_var, self.centre = inv_var, centre
        sp = np.ascontiguousarray(self.shared[:, :k])
        rp = np.ascontiguousarray(self.scaled[:, :k])
        self.shared_pos, self.scaled_pos = sp, rp
        self.shared_zero = self.shared[:, k:].sum(axis=-1)
        self.tables_pos = (_pairs(sp, sp, True), _pairs(rp, sp, False), _pairs(rp, rp, True),
                           sp, rp)
        sa, ra = self.shared, self.scaled
        self.tables_all = (_pairs(sa, sa, True), _pairs(ra, sa, False), _pairs(ra, ra, True),
                           sa, ra)
        # weighted least-squares start: weights 1/max(n, 1) on all bins
        self.wt = np.concatenate([1.0 / np.maximum(self.n, 1.0), np.ones(n.size - k)])
        self.n_all = np.concatenate([self.n, np.zeros(n.size - k)])

    def order(self, x):
        return x if self.perm is None else x[..., self.perm]

    def split(self, theta, nv):
        return theta[:, :nv], theta[:, nv:nv + self.n_scaled], theta[:, nv + self.n_scaled:]

    # --- pieces --------------------------------------------------------------------------
    def shift(self, blk, theta):
        """Σ_p θ_p D_p (rows): matrix products for the shared and scaled directions."""
        tv, tr, ts = self.split(theta, blk.d.shape[1])
        out = ts @ self.shared if self.n_shared else np.zeros(blk.base.shape)
        if self.n_scaled:
            out += blk.s * (tr @ self.scaled)
        for i in range(tv.shape[1]):
            out += tv[:, i, None] * blk.d[:, i]
        return out

    def objective(self, mu, theta):
        """χ² + pulls from μ (rows); +∞ outside the domain (μ < 0, or μ = 0 where n > 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            value = 2.0 * mu.sum(axis=-1) - 2.0 * (np.log(mu[:, :self.k]) @ self.n) + self.const
        value += ((theta - self.centre) ** 2) @ self.inv_var
        bad = ~(mu.min(axis=-1) >= 0) | np.isnan(value)
        return np.where(bad, np.inf, value)

    def _gram(self, w, s, d, tables, out):
        """out[:, i, j] = Σ_b w D_i D_j (weights w (N, B) or (B,)); matrix products with the
        fixed row products ``tables`` = (SS pairs, RS pairs, RR pairs, S rows, R rows)."""
        nv, nr = d.shape[1], self.n_scaled
        o_r, o_s = nv, nv + nr
        (ss, si, sj), (rs, ri, rj), (rr, qi, qj), s_rows, r_rows = tables
        if self.n_shared:
            _put(out, o_s + si, o_s + sj, w @ ss.T)
        if nr:
            sw = s * w
            if self.n_shared:
                _put(out, o_r + ri, o_s + rj, sw @ rs.T)
            _put(out, o_r + qi, o_r + qj, (sw * s) @ rr.T)
        for a in range(nv):
            dw = d[:, a] * w
            if self.n_shared:
                out[:, a, o_s:] = dw @ s_rows.T
                out[:, o_s:, a] = out[:, a, o_s:]
            if nr:
                out[:, a, o_r:o_s] = (dw * s) @ r_rows.T
                out[:, o_r:o_s, a] = out[:, a, o_r:o_s]
            for b in range(a, nv):
                out[:, a, b] = out[:, b, a] = np.einsum("nb,nb->n", dw, d[:, b])

    def gradient_hessian(self, mu, blk, theta):
        """Gradient (N, P) and Hessian (N, P, P) of the objective."""
        k, nv, nr = self.k, blk.d.shape[1], self.n_scaled
        ratio = self.n / mu[:, :k]
        w = ratio / mu[:, :k]
        resid = 1.0 - ratio
        s, d = blk.s[:, :k], blk.d[:, :, :k]
        n_par = nv + nr + self.n_shared
        grad = np.empty((mu.shape[0], n_par))
        hess = np.empty((mu.shape[0], n_par, n_par))
        grad[:, nv + nr:] = resid @ self.shared_pos.T + self.shared_zero
        if nr:
            grad[:, nv:nv + nr] = (resid * s) @ self.scaled_pos.T + blk.s_zero
        for a in range(nv):
            grad[:, a] = np.einsum("nb,nb->n", d[:, a], resid) + blk.d_zero[:, a]
        self._gram(w, s, d, self.tables_pos, hess)
        grad *= 2.0
        grad += 2.0 * self.inv_var * (theta - self.centre)
        hess *= 2.0
        hess += 2.0 * np.diag(self.inv_var)
        return grad, hess

    def start(self, blk):
        """Gaussian approximation (weights 1/max(n, 1)) of the fit, if it keeps μ > 0; else c."""
        nv, nr = blk.d.shape[1], self.n_scaled
        n_par = nv + nr + self.n_shared
        lhs = np.empty((blk.base.shape[0], n_par, n_par))
        resid = (self.n_all - blk.base) * self.wt
        rhs = np.empty((blk.base.shape[0], n_par))
        rhs[:, nv + nr:] = resid @ self.shared.T
        if nr:
            rhs[:, nv:nv + nr] = (resid * blk.s) @ self.scaled.T
        for a in range(nv):
            rhs[:, a] = np.einsum("nb,nb->n", blk.d[:, a], resid)
        self._gram(self.wt, blk.s, blk.d, self.tables_all, lhs)
        lhs += np.diag(self.inv_var)
        rhs += self.inv_var * self.centre
        theta = _solve_spd(lhs, rhs)
        mu = self.shift(blk, theta)
        mu += blk.base
        ok = (mu[:, :self.k].min(axis=-1, initial=np.inf) > 0) & (mu.min(axis=-1) >= 0)
        if not ok.all():
            theta[~ok] = self.centre
            mu[~ok] = blk.base[~ok] + self.shift(blk.take(~ok), theta[~ok])
        return theta, mu

    # --- Newton ----------------------------------------------------------------------------
    def newton(self, blk, theta0, max_iterations, tolerance):
        """Damped Newton on one block of points: (χ², θ̂, converged)."""
        if theta0 is None:
            theta, mu = self.start(blk)
        else:
            theta = theta0.copy()
            mu = self.shift(blk, theta) + blk.base
        block = blk
        f = np.full(theta.shape[0], np.nan)  # χ² where known; NaN: to be evaluated
        converged = np.zeros(theta.shape[0], dtype=bool)
        active = np.arange(theta.shape[0])
        th, f_a = theta, f.copy()
        for _ in range(max_iterations):
            grad, hess = self.gradient_hessian(mu, blk, th)
            step = -_solve_spd(hess, grad)
            decrement = -np.einsum("np,np->n", grad, step)
            done = decrement < tolerance
            if done.any():
                # last, tiny full step (quadratic convergence); its χ² change is −λ²/2 up to
                # O(λ³), λ² = decrement < tolerance
                idx = active[done]
                converged[idx] = True
                theta[idx] = th[done] + step[done]
                f[idx] = f_a[done] - 0.5 * decrement[done]
                go = ~done
                active = active[go]
                if active.size == 0:
                    break
                blk, th, mu, f_a = blk.take(go), th[go], mu[go], f_a[go]
                step, decrement = step[go], decrement[go]
            dmu = self.shift(blk, step)
            frac = np.ones(th.shape[0])
            mu_t = mu + dmu
            inside = mu_t.min(axis=-1) > 0
            # a full Newton step with λ ≤ 1/2 (λ² = decrement of the self-concordant χ²/2,
            # × 1/n_min if some 0 < n < 1) stays in the domain and lowers the χ²
            # (Nesterov, Introductory Lectures on Convex Optimization (2004), Thms 4.1.5 and
            # 4.1.8: f(x⁺) ≤ f(x) − λ² + ω*(λ) < f(x)): no χ² evaluation needed
            check = ~(inside & (decrement * self.kappa <= 0.5))
            if check.any():
                f_a[check] = self._checked_step(mu, dmu, th, step, decrement, f_a, frac, check,
                                                inside, mu_t)
            f_a[~check] = np.nan
            th = th + frac[:, None] * step
            mu = mu_t
            theta[active], f[active] = th, f_a
        todo = np.isnan(f)
        if todo.any():
            sub = block.take(todo)
            f[todo] = self.objective(sub.base + self.shift(sub, theta[todo]), theta[todo])
        return f, theta, converged

    def _checked_step(self, mu, dmu, th, step, decrement, f_a, frac, rows, inside, mu_t):
        """Rows ``rows``: full Newton step, capped to stay in the domain μ > 0, kept if the χ²
        decreases; otherwise the damped step 1/(1+λ), which decreases a self-concordant
        function for sure (Nesterov (2004), Thm 4.1.12). Updates frac and mu_t in place and
        returns the χ² at the new points."""
        mu, dmu, th, step = mu[rows], dmu[rows], th[rows], step[rows]
        f0 = f_a[rows]
        unknown = np.isnan(f0)
        if unknown.any():
            f0[unknown] = self.objective(mu[unknown], th[unknown])
        fr = np.ones(mu.shape[0])
        out = ~inside[rows]
        if out.any():
            fr[out] = np.minimum(1.0, _step_cap(mu[out], dmu[out]))
        mt = mu + fr[:, None] * dmu
        ft = self.objective(mt, th + fr[:, None] * step)
        worse = ~(ft <= f0)
        if worse.any():
            lam = np.sqrt(np.maximum(decrement[rows][worse], 0.0) / 2.0)
            fr[worse] = np.minimum(1.0 / (1.0 + lam), _step_cap(mu[worse], dmu[worse]))
            mt[worse] = mu[worse] + fr[worse, None] * dmu[worse]
            ft[worse] = self.objective(mt[worse], th[worse] + fr[worse, None] * step[worse])
        frac[rows] = fr
        mu_t[rows] = mt
        return ft


def _put(out, i, j, h):
    out[:, i, j] = h
    out[:, j, i] = h


def _step_cap(mu, dmu):
    """0.99 × the largest step fraction that keeps every μ ≥ 0 (∞ if none decreases)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(dmu < 0, -mu / dmu, np.inf).min(axis=-1)
    return 0.99 * limit


def _solve_spd(a, b):
    """Solve a x = b for a stack of symmetric positive (semi)definite matrices a (N, P, P).

    Cholesky factorisation vectorised over the stack (P is small: one numpy operation per
    matrix element instead of one LAPACK call per matrix), with a relative ridge 1e-12 × max
    diagonal so that a flat direction (e.g. a zero signal with a free normalisation) gets a
    zero step instead of a division by zero.
    """
    p = a.shape[-1]
    m = np.ascontiguousarray(np.moveaxis(a, 0, -1))  # (P, P, N)
    ridge = 1e-12 * np.maximum(np.abs(np.diagonal(a, axis1=-2, axis2=-1)).max(axis=-1), 1.0)
    low = np.zeros_like(m)
    for j in range(p):
        diag = m[j, j] + ridge - np.einsum("kn,kn->n", low[j, :j], low[j, :j])
        low[j, j] = np.sqrt(np.maximum(diag, ridge))
        for i in range(j + 1, p):
            low[i, j] = (m[i, j] - np.einsum("kn,kn->n", low[i, :j], low[j, :j])) / low[j, j]
    y = np.empty((p, a.shape[0]))
    rhs = b.T
    for i in range(p):
        y[i] = (rhs[i] - np.einsum("kn,kn->n", low[i, :i], y[:i])) / low[i, i]
    x = np.empty_like(y)
    for i in reversed(range(p)):
        x[i] = (y[i] - np.einsum("kn,kn->n", low[i + 1:, i], x[i + 1:])) / low[i, i]
    return x.T
