"""The Standard-Model point of a scan: every experiment's χ² with the model's couplings at zero.

Every model returns exactly the SM prediction when its couplings vanish (see
`docs/physics.md#bsm-models`), so the SM point of a scan is its grid with every axis that is
not a mass (couplings, ε, magnetic moments) set to 0 and the mass axes kept: one χ² per mass
(and quenching choice) for mediator models, one number for the others. ``nubound limits
--reference sm`` takes Δχ² against it (see `docs/statistics.md#reference-minimum`).
"""

from __future__ import annotations

from dataclasses import replace

from numpy.typing import NDArray

from nubound.scanner.catalogue import PhysicsRegistry
from nubound.scanner.evaluate import evaluate
from nubound.scanner.plan import block_at
from nubound.scanner.spec import AxisSpec, ScanSpec
from nubound.scanner.spec import _is_mass as is_mass_axis


def sm_spec(spec: ScanSpec) -> ScanSpec:
    """``spec`` with every non-mass axis replaced by the single value 0 (one block).

    Examples
    --------
    >>> from nubound.scanner.spec import AxisSpec, ModelSpec, ScanSpec
    >>> spec = ScanSpec(ModelSpec("vector_universal"),
    ...                 (AxisSpec("mass_MeV", "MeV", "log", (1.0, 10.0)),
    ...                  AxisSpec("coupling", "1", "log", (1e-6, 1e-5, 1e-4))),
    ...                 ("coherent_csi",), (), (2, 3), "s.zarr", 0.9, "observed")
    >>> [(a.name, a.values) for a in sm_spec(spec).axes]
    [('mass_MeV', (1.0, 10.0)), ('coupling', (0.0,))]
    """
    axes = tuple(a if is_mass_axis(a.name) else AxisSpec(a.name, a.unit, "values", (0.0,))
                 for a in spec.axes)
    return replace(spec, axes=axes, chunks=tuple(a.size for a in axes))


def sm_chi2(spec: ScanSpec, *, registry: PhysicsRegistry | None = None) -> dict[str, NDArray]:
    """χ² of every experiment of ``spec`` at its SM point (:func:`sm_spec`).

    Returns ``{experiment: array}`` shaped like :func:`~nubound.scanner.evaluate.evaluate`'s
    output on the SM grid: size 1 along every non-mass axis, (+ quenching choices last).
    """
    sm = sm_spec(spec)
    block = block_at((0,) * len(sm.axes), sm.shape, sm.chunks)
    return evaluate(sm, block, registry=registry).chi2
