"""Experiments, one module each, behind the interface of ``experiments.base``."""

from __future__ import annotations

import importlib
from functools import cache

from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments.base import Experiment

# name → "module:class" (imported lazily so that one experiment's data are read only when used)
EXPERIMENTS: dict[str, str] = {
    "dresden_ii": "dresden_ii:DresdenII",
    "coherent_csi": "coherent_csi:CoherentCsI",
    "coherent_ar": "coherent_ar:CoherentAr",
    "xenonnt_b8": "xenonnt_b8:XenonntB8",
}


@cache
def get_experiment(name: str, **options) -> Experiment:
    """Build (once per process and option set) the experiment called ``name``.

    Options are the experiment class' keyword arguments (hashable values only).
    """
    try:
        target = EXPERIMENTS[name]
    except KeyError:
        raise PhysicsInputError(
            f"unknown experiment '{name}'; allowed: {', '.join(EXPERIMENTS)}"
        ) from None
    module_name, class_name = target.split(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, class_name)(**options)
