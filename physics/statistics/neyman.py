"""Neyman construction with likelihood-ratio ordering, calibrated with toys (Feldman & Cousins).

Feldman & Cousins, Phys. Rev. D 57 (1998) 3873 (arXiv:physics/9711021), Sec. IV, Eq. (4.1):
at each value θ of the shown parameter the acceptance region contains the outcomes x in
decreasing order of R = L(x|θ)/L(x|θ̂) until it holds a probability ≥ CL; θ lies in the
confidence interval of the observation x₀ if x₀ is in the acceptance region of θ. With
t(θ) = −2 ln R = χ²(θ) − min_θ' χ²(θ') (the minimum over the shown parameter(s), inside their
physical range), "x in the acceptance region" reads t(x; θ) ≤ t_c(θ), with t_c(θ) the smallest
value such that P(t ≤ t_c | θ) ≥ CL. Wilks' theorem would give t_c = χ²_ppf(CL, dof) (2.706
at 90 % for one parameter); near a physical boundary, with few counts or with a signal that
is not linear in θ, t_c(θ) differs and is computed here from pseudo-experiments.

Nuisance parameters ν: the profile construction (PDG Review of Particle Physics, "Statistics",
§40.4.2.2; used for CEvNS by Denton & Gehrlein, arXiv:2008.06062): t is the profile-likelihood
ratio (χ² profiled over ν, as every ``Experiment.chi2``) and the toys at θ are generated with
ν at its conditional best fit to the data, ν̂(θ) (``Experiment.toy_data``); the auxiliary
measurements behind the pull terms are fluctuated with the data.

Estimator of t_c from N toys: the ⌈CL·N⌉-th smallest t (the empirical CL-quantile; this is
FC's rule applied to the toys, ties included). Its Monte Carlo uncertainty follows from the
binomial distribution of the number of toys below a value: the order statistics of rank
N·CL ± √(N·CL·(1−CL)) bracket it at ±1σ (:func:`critical_value_band`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments.base import Experiment


def ratio_statistic(chi2: ArrayLike, index: int | NDArray, axis: int = -1) -> NDArray:
    """t = χ²[index] − min χ² along ``axis`` (the shown parameter's grid line).

    Examples
    --------
    >>> ratio_statistic([[3.0, 1.0, 2.0]], 2)
    array([1.])
    """
    c = np.moveaxis(np.asarray(chi2, dtype=float), axis, -1)
    at = np.take_along_axis(c, np.broadcast_to(np.asarray(index), c.shape[:-1])[..., None],
                            axis=-1)[..., 0]
    return at - np.min(c, axis=-1)


def _check_cl(cl: float) -> float:
    if not 0.0 < cl < 1.0:
        raise PhysicsInputError(f"cl: must lie in (0, 1), got {cl}")
    return float(cl)


def critical_value(t: ArrayLike, cl: float, axis: int = -1) -> NDArray:
    """The CL-quantile of the toys' t along ``axis``: the ⌈CL·N⌉-th smallest value.

    NaN toys (a failed fit) sort last, i.e. count as large t (conservative).

    Examples
    --------
    >>> float(critical_value(np.arange(1.0, 11.0), 0.9))
    9.0
    """
    cl = _check_cl(cl)
    s = np.sort(np.asarray(t, dtype=float), axis=axis)
    n = s.shape[axis]
    if n == 0:
        raise PhysicsInputError("critical_value: no toys")
    k = max(math.ceil(cl * n - 1e-9), 1)
    return np.take(s, k - 1, axis=axis)


def critical_value_band(t: ArrayLike, cl: float, n_sigma: float = 1.0,
                        axis: int = -1) -> tuple[NDArray, NDArray]:
    """(lower, upper) order statistics at ranks N·CL ∓ n_sigma·√(N·CL·(1−CL)) (the binomial
    Monte Carlo uncertainty of :func:`critical_value`)."""
    cl = _check_cl(cl)
    s = np.sort(np.asarray(t, dtype=float), axis=axis)
    n = s.shape[axis]
    half = n_sigma * math.sqrt(n * cl * (1.0 - cl))
    lo = min(max(math.floor(n * cl - half), 1), n)
    hi = min(max(math.ceil(n * cl + half), 1), n)
    return np.take(s, lo - 1, axis=axis), np.take(s, hi - 1, axis=axis)


@dataclass(frozen=True)
class ToyPart:
    """One experiment of a combination: the experiment (judging the real data) and its signals
    along the shown parameter's grid line for each quenching choice, (n_quenching, n_line,
    n_bins). Quenching choices are profiled (the minimum over them), as in the limits."""

    experiment: Experiment
    signals: NDArray

    def generating_choice(self, index: int) -> int:
        """The quenching choice at its conditional best fit to the data at grid point ``index``."""
        return int(np.argmin(self.experiment.chi2(self.signals[:, index])))


def toy_chi2(parts: Sequence[ToyPart], index: int, n_toys: int,
             rngs: Sequence[np.random.Generator]) -> NDArray:
    """χ² along the grid line of ``n_toys`` pseudo-experiments generated at grid point
    ``index``, (n_toys, n_line): summed over the parts, each part's quenching profiled.

    Each part draws its toys with its own generator (``rngs``, one per part) at its conditional
    best fit (``Experiment.toy_data``); each toy is profiled over the whole line in one batched
    call of its experiment's kernel (``Experiment.toy``).
    """
    if len(rngs) != len(parts):
        raise PhysicsInputError(f"toy_chi2: {len(parts)} parts but {len(rngs)} generators")
    n_line = parts[0].signals.shape[1]
    total = np.zeros((n_toys, n_line))
    for part, rng in zip(parts, rngs, strict=True):
        if part.signals.shape[1] != n_line:
            raise PhysicsInputError("toy_chi2: the parts' grid lines differ in length")
        q = part.generating_choice(index)
        data = part.experiment.toy_data(part.signals[q, index], rng, n_toys)
        # identical pseudo-data sets (discrete counts) are profiled once
        unique, inverse = np.unique(data, axis=0, return_inverse=True)
        chi2 = np.stack([part.experiment.toy(row).chi2(part.signals).min(axis=0)
                         for row in unique])
        total += chi2[inverse.reshape(-1)]
    return total


def toy_test_statistics(parts: Sequence[ToyPart], index: int, n_toys: int,
                        rngs: Sequence[np.random.Generator]) -> NDArray:
    """t(θ_index) of ``n_toys`` pseudo-experiments generated at θ_index, (n_toys,).

    Examples
    --------
    >>> from nubound.physics.experiments.counting import GaussianMeasurement
    >>> line = np.linspace(0.0, 6.0, 601)[None, :, None]        # s ≥ 0, one quenching choice
    >>> part = ToyPart(GaussianMeasurement(observed=0.0), line)
    >>> t = toy_test_statistics([part], 0, 4000, [np.random.default_rng(1)])
    >>> round(float(critical_value(t, 0.9)), 1)                   # ½χ²₀ + ½χ²₁: 1.64
    1.6
    """
    return ratio_statistic(toy_chi2(parts, index, n_toys, rngs), index)


def interpolate_critical(x: ArrayLike, x_calibrated: ArrayLike, critical: ArrayLike, *,
                         log: bool = False) -> NDArray:
    """Critical values at ``x`` from those at calibrated points of one grid line: linear in x
    (in ln x if ``log``), constant beyond the outermost calibrated points; NaN if none.

    Examples
    --------
    >>> interpolate_critical([0.0, 1.5, 5.0], [1.0, 2.0], [2.0, 3.0])
    array([2. , 2.5, 3. ])
    """
    x = np.asarray(x, dtype=float)
    xc = np.asarray(x_calibrated, dtype=float)
    c = np.asarray(critical, dtype=float)
    keep = np.isfinite(c)
    if not keep.any():
        return np.full(x.shape, np.nan)
    xc, c = xc[keep], c[keep]
    order = np.argsort(xc)
    f = np.log if log else (lambda v: v)
    return np.interp(f(x), f(xc[order]), c[order])
