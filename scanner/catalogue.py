"""What a scan may name: models (parameters with units, options), experiments (quenching
choices, data files), and how a worker reaches the physics (``get_model``/``get_experiment``).

The :class:`PhysicsRegistry` is the one seam between the scanner and the physics core. The
default one (:func:`default_registry`) imports ``nubound.physics`` lazily; tests and benchmarks
pass their own registry (a small fake model and experiment) as a parameter — nothing is patched.
A registry travels to the workers with every task, so it must be picklable and small.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any


@dataclass(frozen=True)
class ModelInfo:
    """A model's scannable parameters (name → unit) and its named options (name → choices)."""

    parameters: dict[str, str]
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # inclusive bounds


# Experiment → data folders of physics/data.REGISTRY it reads (for the provenance hashes).
_DATA_FOLDERS = {
    "dresden_ii": ("dresden-ii/",),
    "coherent_csi": ("coherent-csi-2021/",),
    "coherent_ar": ("coherent-ar-2020/",),
    "xenonnt_b8": ("xenonnt-b8/", "fluxes/b8spectrum.txt"),
}

class PhysicsRegistry:
    """Names, units and choices the spec is validated against, and the physics entry points.

    Subclass it (tests: a fake model and experiment) and pass the instance to
    ``load_spec``/``evaluate``/``run_scan``.
    """

    def models(self) -> dict[str, ModelInfo]:
        """Known models, from ``nubound.physics.models.MODELS`` (names, units, ranges, options)."""
        from nubound.physics.models import MODELS

        return {
            name: ModelInfo(
                parameters={p.name: p.unit for p in model.parameters},
                options={o.name: tuple(o.choices) for o in model.options},
                ranges={p.name: (p.minimum, p.maximum) for p in model.parameters},
            )
            for name, model in MODELS.items()
        }

    def experiment_names(self) -> tuple[str, ...]:
        """Known experiments."""
        from nubound.physics.experiments import EXPERIMENTS

        return tuple(EXPERIMENTS)

    def experiment_class(self, experiment: str) -> type:
        """The experiment's class, imported without building the experiment (no data read)."""
        from nubound.physics.experiments import EXPERIMENTS

        module_name, class_name = EXPERIMENTS[experiment].split(":")
        module = importlib.import_module(f"nubound.physics.experiments.{module_name}")
        return getattr(module, class_name)

    def quenching_choices(self, experiment: str) -> tuple[str, ...]:
        """The experiment's quenching choices, read from its class without building it."""
        return tuple(self.experiment_class(experiment).quenching_choices)

    def get_model(self, name: str) -> Any:
        """The model object (``signal_counts(experiment, quenching, params)``; options go in
        ``params`` as strings)."""
        from nubound.physics.models import get_model

        return get_model(name)

    def get_experiment(self, name: str) -> Any:
        """The experiment object (``profile(signal)``: χ², nuisances, convergence), cached
        per process by physics."""
        from nubound.physics.experiments import get_experiment

        return get_experiment(name)

    def asimov_experiment(self, experiment: Any, quenching: str | None) -> Any:
        """The experiment with its observed data replaced by the SM Asimov data set of the
        quenching choice: ``experiment.asimov(quenching)`` (built once per worker process and
        choice by physics; it shares the experiment's channels)."""
        return experiment.asimov(quenching)

    def check_asimov(self, experiments: tuple[str, ...]) -> None:
        """Raise ConfigError before any work if an experiment cannot build Asimov data."""
        from nubound.physics.errors import ConfigError

        missing = [e for e in experiments if not _provides_asimov(self.experiment_class(e))]
        if missing:
            able = [e for e in self.experiment_names()
                    if _provides_asimov(self.experiment_class(e))]
            raise ConfigError(
                f"data: 'asimov' needs Experiment.asimov(quenching), which "
                f"{', '.join(missing)} does not provide; use data = 'observed', or only "
                f"experiments with Asimov data: {', '.join(able) or 'none'}"
            )

    def data_hashes(self, experiments: tuple[str, ...]) -> dict[str, str]:
        """sha256 of the registered data files the experiments read, verified on the client."""
        from nubound.physics.data import REGISTRY, data_path

        folders = tuple(f for e in experiments for f in _DATA_FOLDERS.get(e, ()))
        keys = sorted(k for k in REGISTRY if k.startswith(folders))
        for key in keys:
            data_path(key)  # fetch and verify on the client, before any worker runs
        # a release registered by its manifest is pinned by the manifest's own entry (each
        # of its files is verified against the manifest when a worker reads it)
        return {key: REGISTRY[key].sha256 for key in keys}


def _provides_asimov(cls: type) -> bool:
    """True if the experiment class builds Asimov data (``Experiment.provides_asimov``)."""
    check = getattr(cls, "provides_asimov", None)
    return bool(check()) if check is not None else hasattr(cls, "asimov")


@cache
def default_registry() -> PhysicsRegistry:
    """The registry backed by ``nubound.physics``."""
    return PhysicsRegistry()
