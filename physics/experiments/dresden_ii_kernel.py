"""Compiled per-point profile of the Dresden-II background (numba; one call per block of signals).

Model and χ² of docs/experiments/dresden_ii.md#likelihood (reference analysis arXiv:2202.10829,
background fit of Colaresi et
al. arXiv:2202.09672), on uniform bins E_i, rates per 10 eVee per day:

    b_i(θ) = A + B e^{−C E_i} + h [G1_i + G2_i + a_M w κ_i],
    G1_i = exp(−(E_i − c)²/2w²),  G2_i = ρ₂ exp(−(E_i − E₂)²/2w²),
    κ_i = (0.16/σ_n) exp(−(E_i − 0.158)²/2σ_n²)     (M peak, area M/L1 = 0.16 a_M),
    χ²(S) = min_θ Σ_i r_i² + (a_M − 1)²/σ_a²,   r_i = (n_i − S_i − b_i(θ))/σ_i,

θ = (h, c, w, A, B, C, a_M). Weighted Jacobian J_ki = (∂b_i/∂θ_k)/σ_i:

    ∂/∂h = G1 + G2 + a_M w κ,   ∂/∂c = h G1 (E − c)/w²,
    ∂/∂w = h [G1 (E − c)² + G2 (E − E₂)²]/w³ + h a_M κ,   ∂/∂A = 1,
    ∂/∂B = e^{−CE},   ∂/∂C = −B E e^{−CE},   ∂/∂a_M = h w κ.

Fit per signal: projected Levenberg–Marquardt (Levenberg 1944, Marquardt 1963; Nocedal & Wright,
*Numerical Optimization* (2006) §10.3) on ½χ²: step (JᵀJ + P + λ diag + ridge) δ = Jᵀr − P(θ − θ_P)
with the a_M pull P, parameters held at a bound by their gradient frozen, trial points clipped
to the bounds and kept only if they lower χ². λ = 0 (Gauss–Newton) while steps succeed, ×0.1 on
success and max(10λ, 1e-3) on failure. Stop when the predicted gain δᵀ(Jᵀr − P…) < tol, when
two full Gauss–Newton gains g₁, g₂ shrinking geometrically leave g₂ρ/(1 − ρ) < tol (ρ = g₂/g₁,
capped at ½). A fit that ends otherwise — λ > 1e8 (no step lowers χ² although the predicted
gain is not small) or the iteration cap — is reported as not converged (``Fits.converged``).

Gaussians and exp(−CE) on the uniform grid come from running products (no exp per bin):
G(E_{i+1})/G(E_i) = exp(−(z_i t + t²/2)) with z_i = (E_i − μ)/w, t = ΔE/w, and consecutive
ratios differ by the constant factor exp(−t²); a direct exp per bin where |z| reaches 36 on the
grid (exp(−648) ≈ 1e-282: the running product would underflow).

Layout of ``grid`` (5, n_bins): E_i [keV], 1/σ_i, n_i/σ_i, κ_i/σ_i, (E_i − E₂)².

The entry points take named bundles (``Background``, ``Linearisation``, ``Fits``; typed
namedtuples that numba passes as structs), so that no two same-typed arrays can be swapped by
position.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nubound.physics.kernel_cache import kernel
from nubound.physics.statistics.compiled_linalg import cholesky_solve, dot

_FAST = {"reassoc", "contract"}  # lets LLVM vectorise the sums over bins (no nnan/ninf)
_OPTS = {"error_model": "numpy"}  # x/0 gives inf, not ZeroDivisionError
_TOL = 1e-6  # χ² units: the tests ask 1e-3
_REL_TOL = 1e-9  # plus this × χ²: a far-excluded fit (χ² ≫ 10⁶) need not crawl to 10⁻⁶
_MAX_ITER = 1000  # LM can crawl along the flat–exponential valley (A, B, C for small C)
_RIDGE = 1e-12  # relative to the largest diagonal entry of JᵀJ
_RUNNING_PRODUCT_Z = 36.0
_E, _ISG, _RATE_W, _KAPPA_W, _D2SQ = range(5)


class Background(NamedTuple):
    """The fit's fixed inputs: ``grid`` (5, n_bins) (module docstring), bounds ``lower`` and
    ``upper`` (7,) of θ, the L2 peak's centre [keV] and relative height, and the weight
    1/σ_a² of the a_M pull."""

    grid: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    l2_centre_keV: float
    l2_height: float
    pull_w: float


class Linearisation(NamedTuple):
    """The background-only fit θ_bg (7,), its weighted residual r_bg (n_bins,) and χ², and
    the linear response R (7, n_bins) of θ̂ to the weighted signal S/σ there."""

    theta: np.ndarray
    residual: np.ndarray
    chi2: float
    response: np.ndarray


class Fits(NamedTuple):
    """Outputs for N signals: χ² (N,), θ̂ (N, 7), converged (N,) bool."""

    chi2: np.ndarray
    theta: np.ndarray
    converged: np.ndarray


@kernel(**_OPTS)
def _gaussian(energy, centre, inv_width, scale, out):
    """out_i = scale · exp(−((E_i − centre)/w)²/2) on the uniform grid (module docstring)."""
    nb = energy.size
    z0 = (energy[0] - centre) * inv_width
    z1 = (energy[nb - 1] - centre) * inv_width
    if max(abs(z0), abs(z1)) < _RUNNING_PRODUCT_Z:
        t = (energy[1] - energy[0]) * inv_width
        q = np.exp(-t * t)
        g = scale * np.exp(-0.5 * z0 * z0)
        ratio = np.exp(-(z0 * t + 0.5 * t * t))
        for i in range(nb):
            out[i] = g
            g *= ratio
            ratio *= q
    else:
        for i in range(nb):
            z = (energy[i] - centre) * inv_width
            out[i] = scale * np.exp(-0.5 * z * z)


@kernel(**_OPTS)
def _shapes(theta, bg, g1, g2, ex):
    """G1, G2 and e^{−CE} at θ (module docstring), into g1, g2, ex (n_bins,)."""
    energy = bg.grid[_E]
    inv_w = 1.0 / theta[2]
    _gaussian(energy, theta[1], inv_w, 1.0, g1)
    _gaussian(energy, bg.l2_centre_keV, inv_w, bg.l2_height, g2)
    x = np.exp(-theta[5] * energy[0])
    ratio = np.exp(-theta[5] * (energy[1] - energy[0]))
    for i in range(energy.size):
        ex[i] = x
        x *= ratio


@kernel(fastmath=_FAST, **_OPTS)
def _chi2(theta, sw, bg, g1, g2, ex):
    """χ² at θ for the weighted signal sw = S/σ; leaves the shapes at θ in g1, g2, ex."""
    _shapes(theta, bg, g1, g2, ex)
    h, a, b, am = theta[0], theta[3], theta[4], theta[6]
    m = h * am * theta[2]
    grid = bg.grid
    isg, rate_w, kappa_w = grid[_ISG], grid[_RATE_W], grid[_KAPPA_W]
    acc = 0.0
    for i in range(sw.size):
        r = rate_w[i] - sw[i] - isg[i] * (a + h * (g1[i] + g2[i]) + b * ex[i]) - m * kappa_w[i]
        acc += r * r
    return acc + bg.pull_w * (am - 1.0) ** 2


@kernel(fastmath=_FAST, **_OPTS)
def _jacobian(theta, sw, grid, g1, g2, ex, jac):
    """Weighted Jacobian J (rows 0–6) and residual r (row 7) into jac (8, n_bins), from the
    shapes at θ (module docstring)."""
    h, c, w, a, b, am = theta[0], theta[1], theta[2], theta[3], theta[4], theta[6]
    energy, isg, rate_w, kappa_w, d2sq = grid[_E], grid[_ISG], grid[_RATE_W], grid[_KAPPA_W], \
        grid[_D2SQ]
    m = h * am * w
    h_w2 = h / (w * w)
    h_w3 = h_w2 / w
    for i in range(sw.size):
        s = isg[i]
        d1 = energy[i] - c
        x = s * ex[i]
        jac[0, i] = s * (g1[i] + g2[i]) + am * w * kappa_w[i]
        jac[1, i] = h_w2 * s * g1[i] * d1
        jac[2, i] = h_w3 * s * (g1[i] * d1 * d1 + g2[i] * d2sq[i]) + h * am * kappa_w[i]
        jac[3, i] = s
        jac[4, i] = x
        jac[5, i] = -b * energy[i] * x
        jac[6, i] = h * w * kappa_w[i]
        jac[7, i] = rate_w[i] - sw[i] - s * (a + h * (g1[i] + g2[i])) - b * x - m * kappa_w[i]


@kernel(**_OPTS)
def _normal_equations(jac, gram, grad):
    """JᵀJ (7, 7) and Jᵀr (7,) from jac (8, n_bins) of ``_jacobian``."""
    for k in range(7):
        grad[k] = dot(jac[k], jac[7])
        for j in range(k, 7):
            gram[k, j] = gram[j, k] = dot(jac[k], jac[j])


@kernel(**_OPTS)
def _fit(sw, start, bg, theta, work, jac, small):
    """Projected Levenberg–Marquardt from ``start`` (module docstring) → (χ², converged); θ̂
    into ``theta``.

    Scratch: work (3, n_bins) for the shapes, jac (8, n_bins) for J and r, small (3, 7, 7)."""
    grid, lower, upper, pull_w = bg.grid, bg.lower, bg.upper, bg.pull_w
    g1, g2, ex = work[0], work[1], work[2]
    gram, mat = small[0], small[1]
    grad, rhs, step, trial = small[2, 0], small[2, 1], small[2, 2], small[2, 3]
    for k in range(7):
        theta[k] = min(max(start[k], lower[k]), upper[k])
    _shapes(theta, bg, g1, g2, ex)
    _jacobian(theta, sw, grid, g1, g2, ex, jac)
    _normal_equations(jac, gram, grad)
    chi2 = dot(jac[7], jac[7]) + pull_w * (theta[6] - 1.0) ** 2
    converged = False
    lam = 0.0
    last_gain = np.inf
    for _ in range(_MAX_ITER):
        # descent direction −½∇χ² and damped Gauss–Newton matrix
        for k in range(7):
            rhs[k] = grad[k]
        rhs[6] -= pull_w * (theta[6] - 1.0)
        largest = 0.0
        for k in range(7):
            largest = max(largest, gram[k, k])
        ridge = _RIDGE * (1.0 + largest + pull_w)
        for k in range(7):
            for j in range(7):
                mat[k, j] = gram[k, j]
        mat[6, 6] += pull_w
        for k in range(7):
            mat[k, k] += lam * mat[k, k] + ridge
        for k in range(7):  # freeze parameters held at a bound by the gradient
            if (theta[k] <= lower[k] and rhs[k] < 0.0) or (theta[k] >= upper[k] and rhs[k] > 0.0):
                rhs[k] = 0.0
                for j in range(7):
                    mat[k, j] = 0.0
                    mat[j, k] = 0.0
                mat[k, k] = 1.0
        cholesky_solve(mat, rhs, step)
        predicted = 0.0
        for k in range(7):
            predicted += step[k] * rhs[k]
        if predicted < _TOL + _REL_TOL * chi2:
            converged = True
            break
        for k in range(7):
            trial[k] = min(max(theta[k] + step[k], lower[k]), upper[k])
        chi2_trial = _chi2(trial, sw, bg, g1, g2, ex)
        better = chi2_trial < chi2
        gain = chi2 - chi2_trial if (better and lam == 0.0) else np.inf
        if better:
            for k in range(7):
                theta[k] = trial[k]
            chi2 = chi2_trial
            lam *= 0.1
        else:
            lam = max(lam * 10.0, 1e-3)
        # remaining gain of a geometric tail of Gauss–Newton gains (module docstring)
        remaining = np.inf
        if np.isfinite(gain) and np.isfinite(last_gain) and last_gain > 0.0:
            rho = min(gain / last_gain, 0.5)
            remaining = gain * rho / (1.0 - rho)
        last_gain = gain
        if remaining < _TOL + _REL_TOL * chi2:
            converged = True
            break
        if lam > 1e8:  # the damping limit: no step lowers χ² although the gain predicted is not
            break
        if better:  # the shapes in work hold the accepted trial point
            _jacobian(theta, sw, grid, g1, g2, ex, jac)
            _normal_equations(jac, gram, grad)
    return chi2, converged


@kernel(**_OPTS)
def _weighted(signal, inv_sigma, out):
    """out = S/σ (the fit works in units of the released errors)."""
    for i in range(out.size):
        out[i] = signal[i] * inv_sigma[i]


@kernel(**_OPTS)
def _workspace(nb):
    """Scratch of ``_fit`` (shapes, J and r, small matrices) and the weighted signal S/σ."""
    return np.empty((3, nb)), np.empty((8, nb)), np.empty((3, 7, 7)), np.empty(nb)


@kernel(**_OPTS)
def fit_block(signal, start, bg, out):
    """Profile each signal from its own start: signal (N, n_bins) in counts/(10 eV·day),
    start (N, 7), ``bg`` a ``Background`` → ``out`` (a ``Fits`` of N)."""
    nb = bg.grid.shape[1]
    if signal.shape[1] != nb or start.shape[0] != signal.shape[0] \
            or out.chi2.size != signal.shape[0]:
        raise ValueError("signal (N, n_bins) and start (N, 7) do not match the grid")
    work, jac, small, sw = _workspace(nb)
    for n in range(signal.shape[0]):
        _weighted(signal[n], bg.grid[_ISG], sw)
        out.chi2[n], out.converged[n] = _fit(sw, start[n], bg, out.theta[n], work, jac, small)


@kernel(**_OPTS)
def profile_block(signal, bg, lin, out):
    """Profile each signal (N, n_bins) from two starts → ``out`` (a ``Fits`` of N).

    First start: the background-only fit θ_bg shifted by its linear response to the signal,
    θ_bg + R(S/σ) clipped to the bounds (``lin``, a ``Linearisation``: R is the first
    Gauss–Newton step from θ_bg). Second start, θ_bg itself, where the first fit ends above
    χ² at θ_bg, |r_bg − S/σ|² + pull(θ_bg) = χ²_bg − 2 r_bg·(S/σ) + |S/σ|²; the lower of the
    two is kept, with its convergence flag.
    """
    nb = bg.grid.shape[1]
    if signal.shape[1] != nb or lin.response.shape[1] != nb \
            or out.chi2.size != signal.shape[0]:
        raise ValueError("signal (N, n_bins) and response (7, n_bins) do not match the grid")
    work, jac, small, sw = _workspace(nb)
    start = np.empty(7)
    theta_2 = np.empty(7)
    for n in range(signal.shape[0]):
        _weighted(signal[n], bg.grid[_ISG], sw)
        for k in range(7):
            start[k] = lin.theta[k] + dot(lin.response[k], sw)
        chi2, converged = _fit(sw, start, bg, out.theta[n], work, jac, small)
        chi2_at_bg = lin.chi2 - 2.0 * dot(sw, lin.residual) + dot(sw, sw)
        if chi2 > chi2_at_bg + _TOL:
            chi2_2, converged_2 = _fit(sw, lin.theta, bg, theta_2, work, jac, small)
            if chi2_2 < chi2:
                chi2, converged = chi2_2, converged_2
                for k in range(7):
                    out.theta[n, k] = theta_2[k]
        out.chi2[n] = chi2
        out.converged[n] = converged


@kernel(**_OPTS)
def jacobian_block(signal, theta, bg, out):
    """Weighted Jacobian (rows 0–6) and residual (row 7) of the fit, from the running-product
    shapes: signal (N, n_bins), θ (N, 7) → out (N, 8, n_bins) (module docstring)."""
    grid = bg.grid
    nb = grid.shape[1]
    if signal.shape[1] != nb or theta.shape[0] != signal.shape[0]:
        raise ValueError("signal (N, n_bins) and theta (N, 7) do not match the grid")
    work = np.empty((3, nb))
    sw = np.empty(nb)
    for n in range(signal.shape[0]):
        _weighted(signal[n], grid[_ISG], sw)
        _shapes(theta[n], bg, work[0], work[1], work[2])
        _jacobian(theta[n], sw, grid, work[0], work[1], work[2], out[n])
