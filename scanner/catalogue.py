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

DIMENSIONLESS = "1"  # UDUNITS spelling of a pure number (couplings, ε)

# The models of the models issue (physics/models/); parameter name → unit. Couplings and ε are
# pure numbers; the magnetic moments are in Bohr magnetons (physics.md §4, "μ_ν in units of μ_B").
_VECTOR_PARAMETERS = {"coupling": DIMENSIONLESS, "mass_MeV": "MeV"}
_NSI_PARAMETERS = {
    f"eps_{quark}_{flavours}": DIMENSIONLESS
    for quark in ("u", "d")
    for flavours in ("ee", "mumu", "tautau", "emu", "etau", "mutau")
}
_INTERFERENCE = {"interference": ("standard", "flipped")}  # physics.md §4, sign option


@dataclass(frozen=True)
class ModelInfo:
    """A model's scannable parameters (name → unit) and its named options (name → choices)."""

    parameters: dict[str, str]
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _default_models() -> dict[str, ModelInfo]:
    return {
        "nsi": ModelInfo(dict(_NSI_PARAMETERS)),
        "magnetic_moment": ModelInfo({"mu_e": "mu_B", "mu_mu": "mu_B"}),
        "vector_universal": ModelInfo(dict(_VECTOR_PARAMETERS), dict(_INTERFERENCE)),
        "vector_b_minus_l": ModelInfo(dict(_VECTOR_PARAMETERS), dict(_INTERFERENCE)),
        "scalar_universal": ModelInfo(dict(_VECTOR_PARAMETERS)),
    }


# Experiment → data folders of physics/data.REGISTRY it reads (for the provenance hashes).
_DATA_FOLDERS = {
    "dresden_ii": ("dresden-ii/", "quenching/", "fluxes/"),
    "coherent_csi": ("coherent-csi-2021/",),
    "coherent_ar": ("coherent-ar-2020/",),
}
# Used only while an experiment module does not exist yet (physics.md §6: Dresden-II's choices).
_FALLBACK_QUENCHING = {"dresden_ii": ("fef", "ybe", "lindhard"), "coherent_csi": (),
                       "coherent_ar": ()}


class PhysicsRegistry:
    """Names, units and choices the spec is validated against, and the physics entry points.

    Subclass it (tests: a fake model and experiment) and pass the instance to
    ``load_spec``/``evaluate``/``run_scan``.
    """

    def models(self) -> dict[str, ModelInfo]:
        """Known models."""
        return _default_models()

    def experiment_names(self) -> tuple[str, ...]:
        """Known experiments."""
        from nubound.physics.experiments import EXPERIMENTS

        return tuple(EXPERIMENTS)

    def quenching_choices(self, experiment: str) -> tuple[str, ...]:
        """The experiment's quenching choices, read from its class without building it."""
        from nubound.physics.experiments import EXPERIMENTS

        module_name, class_name = EXPERIMENTS[experiment].split(":")
        try:
            module = importlib.import_module(f"nubound.physics.experiments.{module_name}")
        except ModuleNotFoundError:
            return _FALLBACK_QUENCHING.get(experiment, ())
        return tuple(getattr(getattr(module, class_name), "quenching_choices", ()))

    def get_model(self, name: str) -> Any:
        """The model object (``signal_counts(experiment, quenching, params)``)."""
        from nubound.physics.models import get_model  # the models issue's API

        return get_model(name)

    def get_experiment(self, name: str) -> Any:
        """The experiment object (``chi2(signal)``), cached per process by physics."""
        from nubound.physics.experiments import get_experiment

        return get_experiment(name)

    def asimov_experiment(self, experiment: Any, quenching: str | None) -> Any:
        """The experiment with its observed data replaced by the SM Asimov data set.

        Needs ``Experiment.asimov(quenching)`` from physics (not in the contract yet).
        """
        from nubound.physics.errors import ConfigError

        make = getattr(experiment, "asimov", None)
        if make is None:
            raise ConfigError(
                f"data = 'asimov' needs {type(experiment).__name__}.asimov(quenching) "
                "(physics API not available yet); allowed for now: data = 'observed'"
            )
        return make(quenching)

    def data_hashes(self, experiments: tuple[str, ...]) -> dict[str, str]:
        """sha256 of the registered data files the experiments read, verified on the client."""
        from nubound.physics.data import REGISTRY, data_path

        folders = tuple(f for e in experiments for f in _DATA_FOLDERS.get(e, ()))
        keys = sorted(k for k in REGISTRY if k.startswith(folders))
        for key in keys:
            data_path(key)  # fetch and verify on the client, before any worker runs
        return {key: REGISTRY[key].sha256 for key in keys}


@cache
def default_registry() -> PhysicsRegistry:
    """The registry backed by ``nubound.physics``."""
    return PhysicsRegistry()
