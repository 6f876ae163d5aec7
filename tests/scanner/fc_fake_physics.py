"""The fake experiments of ``fake_physics`` with toy generators (calibration tests only).

Toys: n ~ Poisson(s + b) at the nominal signal normalisation (the fake's pull centre is not
fluctuated); ``toy(values)`` is the same fake judging the values as its data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from fake_physics import N_BINS, FakeExperiment, FakeRegistry


@dataclass(frozen=True)
class ToyFakeExperiment(FakeExperiment):
    """A fake experiment with pseudo-data."""

    data: tuple[float, ...] | None = None

    @property
    def observed(self) -> np.ndarray:
        if self.data is not None:
            return np.array(self.data)
        return super().observed

    def toy_data(self, signal, rng, n_toys):
        return rng.poisson(np.asarray(signal) + self.background,
                           size=(n_toys, N_BINS)).astype(float)

    def toy(self, values):
        return dataclasses.replace(self, data=tuple(float(v) for v in values))


class ToyFakeRegistry(FakeRegistry):
    """FakeRegistry whose experiments make toys."""

    def get_experiment(self, name: str) -> ToyFakeExperiment:
        base = super().get_experiment(name)
        return ToyFakeExperiment(base.name, base.quenching_choices, base.scale)
