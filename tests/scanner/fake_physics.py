"""A small fake model and fake experiments, injected through a PhysicsRegistry (tests only).

They follow the models issue's API (``signal_counts(experiment, quenching, params)``) and the
experiment contract (``chi2(signal)`` profiled and batched) with cheap closed-form physics:
a vector-mediator-like rescaling of an SM spectrum and a Poisson χ² (Baker & Cousins, NIM 221
(1984)) profiled over one signal-normalisation nuisance with a Gaussian pull, by a few
vectorized Newton steps. Run as ``python -m fake_physics SPEC SCHEDULER`` it is a scan client
(the client-kill test SIGKILLs it).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from nubound.physics.statistics.profile import ProfileResult
from nubound.scanner.catalogue import ModelInfo, PhysicsRegistry

N_BINS = 48
NORM_SIGMA = 0.1  # Gaussian pull width of the fake signal normalisation


@dataclass(frozen=True)
class FakeExperiment:
    """Poisson data from an SM-like falling spectrum over a flat background."""

    name: str
    quenching_choices: tuple[str, ...]
    scale: float = 1.0
    asimov_of: str | None = None

    @property
    def n_bins(self) -> int:
        return N_BINS

    def sm_counts(self, quenching: str | None) -> np.ndarray:
        q = {None: 1.0, "a": 1.0, "b": 0.8, "c": 1.25}[quenching]
        energy = np.linspace(0.2, 2.0, N_BINS)
        return self.scale * 40.0 * q * np.exp(-1.5 * energy)

    @property
    def background(self) -> np.ndarray:
        return np.full(N_BINS, 5.0 * self.scale)

    @property
    def observed(self) -> np.ndarray:
        if self.asimov_of is not None:
            return self.sm_counts(self.asimov_of or None) + self.background
        mu = self.sm_counts(None) + self.background
        return np.round(mu * (1 + 0.15 * np.sin(np.arange(N_BINS))))

    def asimov(self, quenching: str | None) -> FakeExperiment:
        return FakeExperiment(self.name, self.quenching_choices, self.scale, quenching or "")

    def chi2(self, signal: np.ndarray) -> np.ndarray:
        return self.profile(signal).chi2

    def profile(self, signal: np.ndarray) -> ProfileResult:
        """min over a of 2 Σ[μ - n + n ln(n/μ)] + ((a-1)/σ)², μ = a·s + b; six batched Newton
        steps, converged where the last step moved a by less than 1e-8 (a non-finite signal
        never converges)."""
        s = np.asarray(signal, dtype=float)
        n, b = self.observed, self.background
        a = np.ones(s.shape[:-1] + (1,))
        with np.errstate(divide="ignore", invalid="ignore"):
            for _ in range(6):
                mu = a * s + b
                pull = 2 / NORM_SIGMA**2
                grad = 2 * np.sum(s * (1 - n / mu), axis=-1, keepdims=True) + pull * (a - 1)
                hess = 2 * np.sum(s * s * n / mu**2, axis=-1, keepdims=True) + pull
                a, last = np.maximum(a - grad / hess, 0.0), a
            mu = a * s + b
            log_term = np.where(n > 0, n * np.log(n / mu), 0.0)
            chi2 = 2 * np.sum(mu - n + log_term, axis=-1) + ((a[..., 0] - 1) / NORM_SIGMA) ** 2
        converged = np.abs(a - last)[..., 0] < 1e-8
        return ProfileResult(chi2, a, converged)


@dataclass(frozen=True)
class FakeVectorModel:
    """Counts = SM × (1 − g² / (g0² (1 + M²/M0²)))², like a destructive light vector mediator."""

    sleep_s: float = 0.0

    def signal_counts(self, experiment: FakeExperiment, quenching: str | None,
                      params: dict) -> np.ndarray:
        if self.sleep_s:
            time.sleep(self.sleep_s)
        g = np.asarray(params["coupling"], dtype=float)
        mass = np.asarray(params["mass_MeV"], dtype=float)
        sign = -1.0 if params.get("interference", "standard") == "standard" else 1.0
        factor = (1 + sign * g**2 / (1e-8 * (1 + (mass / 10.0) ** 2))) ** 2
        return factor[..., None] * experiment.sm_counts(quenching)


class FakeRegistry(PhysicsRegistry):
    """Registry of the fakes; ``sleep_s`` slows every block (for the kill tests)."""

    def __init__(self, sleep_s: float = 0.0) -> None:
        self.sleep_s = sleep_s

    def models(self) -> dict[str, ModelInfo]:
        return {"fake_vector": ModelInfo({"coupling": "1", "mass_MeV": "MeV"},
                                         {"interference": ("standard", "flipped")})}

    def experiment_names(self) -> tuple[str, ...]:
        return ("fake_a", "fake_b")

    def quenching_choices(self, experiment: str) -> tuple[str, ...]:
        return {"fake_a": ("a", "b", "c"), "fake_b": ()}[experiment]

    def get_model(self, name: str) -> FakeVectorModel:
        return FakeVectorModel(self.sleep_s)

    def get_experiment(self, name: str) -> FakeExperiment:
        scale = {"fake_a": 1.0, "fake_b": 3.0}[name]
        return FakeExperiment(name, self.quenching_choices(name), scale)

    def check_asimov(self, experiments: tuple[str, ...]) -> None:
        pass  # every fake experiment has asimov()

    def data_hashes(self, experiments: tuple[str, ...]) -> dict[str, str]:
        return {f"fake/{e}.txt": "0" * 64 for e in experiments}


def spec_text(store: str, *, n_mass: int = 12, n_coupling: int = 16, chunks=(4, 8),
              data: str = "observed") -> str:
    """TOML of a small fake scan."""
    from tests.real_specs import mediator_spec_text

    return mediator_spec_text(store, experiments=("fake_a", "fake_b"), model="fake_vector",
                              quenching={"fake_a": ("a", "b", "c")}, n_mass=n_mass,
                              n_coupling=n_coupling, chunks=tuple(chunks), coupling_start=1e-6,
                              data=data)


if __name__ == "__main__":
    from distributed import Client

    from nubound.scanner.run import run_scan
    from nubound.scanner.spec import load_spec

    registry = FakeRegistry(sleep_s=float(sys.argv[3]))
    spec = load_spec(sys.argv[1], registry=registry)
    with Client(sys.argv[2]) as client:
        run_scan(spec, client, registry=registry, max_in_flight=2)
