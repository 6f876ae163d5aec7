"""Two one-bin experiments with closed-form answers, behind the experiment interface.

They exist to check the toy Monte Carlo and the Neyman construction
(``statistics.neyman``, docs/feldman-cousins.md) against published numbers with the same
machinery the real experiments use (``Experiment.toy_data`` / ``Experiment.toy``):

- :class:`PoissonCounting`: n ~ Poisson(s + b) with a known background b, χ² the Poisson
  likelihood ratio of Baker & Cousins (``statistics.poisson``). Feldman & Cousins,
  Phys. Rev. D 57 (1998) 3873 (arXiv:physics/9711021), Table IV, give its 90 % intervals.
- :class:`GaussianMeasurement`: x ~ N(s, σ²), χ² = (x − s)²/σ²; with s ≥ 0 its Neyman
  critical value is the χ̄² mixture ½χ²₀ + ½χ²₁ at s = 0 (1.64 at 90 %) and χ²₁ (2.71) far
  from the boundary (Feldman & Cousins 1998, Sec. IV.B; PDG Review of Particle Physics,
  "Statistics", §40.4.2).

The signal is the expected signal count (resp. the mean) itself, shape (..., 1).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments.base import Channel, Experiment
from nubound.physics.statistics.poisson import poisson_chi2
from nubound.physics.statistics.profile import ProfileResult


class _OneBin(Experiment):
    """Shared parts: one bin, no channels, one quenching choice."""

    quenching_choices = ("none",)
    default_quenching = "none"

    def __init__(self, observed: float) -> None:
        self._observed = np.array([float(observed)])

    @property
    def n_bins(self) -> int:
        """One bin."""
        return 1

    @property
    def observed(self) -> NDArray:
        """The observation, shape (1,)."""
        return self._observed

    def channels(self, quenching: str | None = None) -> tuple[Channel, ...]:
        """No recoil channels: the signal is given directly."""
        return ()

    def _toy_attributes(self, values: NDArray) -> dict:
        return {"_observed": values.reshape(1)}

    def _chi2(self, signal: NDArray) -> NDArray:
        raise NotImplementedError

    def profile(self, signal: NDArray) -> ProfileResult:
        """No nuisances: χ² of the signals (..., 1), an empty θ, always converged."""
        chi2 = self._chi2(self.check_signal(signal))
        return ProfileResult(chi2, np.zeros(chi2.shape + (0,)), np.ones(chi2.shape, bool))


class PoissonCounting(_OneBin):
    """n observed events, Poisson mean s + b with b known (module docstring).

    Examples
    --------
    >>> exp = PoissonCounting(background=3.0, observed=0)
    >>> float(exp.chi2(np.array([1.0])))  # 2(μ − n) for n = 0
    8.0
    """

    name = "poisson_counting"

    def __init__(self, background: float, observed: float) -> None:
        if not background >= 0:
            raise PhysicsInputError(f"poisson_counting: background must be ≥ 0, got {background}")
        super().__init__(observed)
        self.background = float(background)

    def _chi2(self, signal: NDArray) -> NDArray:
        """Poisson χ² = 2[μ − n + n ln(n/μ)], μ = s + b (Baker & Cousins 1984, Eq. 6)."""
        return poisson_chi2(self._observed, signal + self.background)

    def toy_data(self, signal: NDArray, rng: np.random.Generator, n_toys: int) -> NDArray:
        """n ~ Poisson(s + b), (n_toys, 1)."""
        s = self.check_signal(signal).reshape(1)
        return rng.poisson(s + self.background, size=(n_toys, 1)).astype(float)


class GaussianMeasurement(_OneBin):
    """A measurement x with Gaussian error σ of the mean s (module docstring).

    Examples
    --------
    >>> float(GaussianMeasurement(observed=1.0, sigma=2.0).chi2(np.array([3.0])))
    1.0
    """

    name = "gaussian_measurement"

    def __init__(self, observed: float, sigma: float = 1.0) -> None:
        if not sigma > 0:
            raise PhysicsInputError(f"gaussian_measurement: sigma must be > 0, got {sigma}")
        super().__init__(observed)
        self.sigma = float(sigma)

    def _chi2(self, signal: NDArray) -> NDArray:
        """χ² = (x − s)²/σ²."""
        return (((self._observed - signal) / self.sigma) ** 2).sum(axis=-1)

    def toy_data(self, signal: NDArray, rng: np.random.Generator, n_toys: int) -> NDArray:
        """x ~ N(s, σ²), (n_toys, 1)."""
        s = self.check_signal(signal).reshape(1)
        return rng.normal(s, self.sigma, size=(n_toys, 1))
