"""BSM models: parameters → expected signal counts on an experiment (docs/physics.md#bsm-models).

``get_model(name)`` returns a frozen :class:`~nubound.physics.models.base.Model` whose
``signal_counts(experiment, quenching, params)`` evaluates whole parameter blocks through cached,
factorized templates; ``list_models()`` describes them (for ``nubound models``).
"""

from __future__ import annotations

import math

from nubound.physics.errors import PhysicsInputError
from nubound.physics.models.base import Model, Option, Parameter
from nubound.physics.models.magnetic_moment import MAGNETIC_MOMENT
from nubound.physics.models.nsi import NSI
from nubound.physics.models.scalar_mediator import SCALAR_LEPTONIC, SCALAR_UNIVERSAL
from nubound.physics.models.vector_mediator import VECTOR_MODELS

MODELS: dict[str, Model] = {
    m.name: m
    for m in (NSI, MAGNETIC_MOMENT, SCALAR_UNIVERSAL, SCALAR_LEPTONIC, *VECTOR_MODELS)
}

__all__ = ["MODELS", "Model", "Option", "Parameter", "get_model", "list_models"]


def get_model(name: str, **options: str) -> Model:
    """The model called ``name`` (with named options, e.g. interference="flipped")."""
    try:
        model = MODELS[name]
    except KeyError:
        raise PhysicsInputError(
            f"unknown model '{name}'; allowed: {', '.join(MODELS)}"
        ) from None
    return model.with_options(**options) if options else model


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def list_models() -> list[dict]:
    """JSON-ready description of every model: name, description, parameters, options, source."""
    return [
        {
            "name": m.name,
            "description": m.description,
            "parameters": [
                {"name": p.name, "unit": p.unit, "description": p.description,
                 "minimum": _finite_or_none(p.minimum), "maximum": _finite_or_none(p.maximum)}
                for p in m.parameters
            ],
            "options": [
                {"name": o.name, "choices": list(o.choices), "default": o.default,
                 "description": o.description}
                for o in m.options
            ],
            "source": m.source,
        }
        for m in MODELS.values()
    ]
