"""Worker-side evaluation of one block: ``evaluate(spec, block) -> BlockValues``, pure.

For every experiment and quenching choice the model maps the block's parameter grid to expected
counts, ``model.signal_counts(experiment, quenching, params)`` → (*block.shape, n_bins), and the
experiment profiles its nuisances in one batched call, ``experiment.profile(signal)`` → χ² over
block.shape and whether each fit converged (docs/design.md#experiment-contract).
Experiments with quenching choices in the spec get a last axis of length ``len(choices)`` in
spec order.

With ``data = "asimov"`` the signal is still computed on the experiment itself, and judged by
``experiment.asimov(quenching)``: the same experiment with the SM expectation of that quenching
choice (nominal nuisances) as data, built once per worker process and shared between blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nubound.scanner.catalogue import PhysicsRegistry, default_registry
from nubound.scanner.plan import Block
from nubound.scanner.spec import ScanSpec


def block_parameters(spec: ScanSpec, block: Block) -> dict[str, object]:
    """Model parameters over ``block``, plus the fixed ones and options.

    Axis ``k`` has shape ``(1, …, n_k, …, 1)`` (open grid): the arrays broadcast against each
    other to ``block.shape`` (as ``Model.signal_counts`` expects), without copies.
    """
    values = [np.asarray(a.values[sl], dtype=float)
              for a, sl in zip(spec.axes, block.region, strict=True)]
    grids = np.meshgrid(*values, indexing="ij", sparse=True)
    params: dict[str, object] = dict(spec.model.fixed)
    for axis, grid in zip(spec.axes, grids, strict=True):
        params[axis.name] = grid
    return params


@dataclass(frozen=True)
class BlockValues:
    """``chi2``: {experiment: array} of shape ``block.shape`` (+ ``(n_quenching,)`` for an
    experiment with quenching choices in the spec), float64; ``unconverged``: {experiment:
    number of those profiles that did not converge}."""

    chi2: dict[str, NDArray]
    unconverged: dict[str, int]


def load_experiments(spec: ScanSpec, *, registry: PhysicsRegistry | None = None) -> None:
    """Build every experiment of ``spec`` (its data read, responses set up), or find it in the
    process's cache: what the first block of a worker process pays before any physics."""
    reg = registry or default_registry()
    for name in spec.experiments:
        experiment = reg.get_experiment(name)
        if spec.data != "observed":
            for quenching in spec.quenching_for(name) or (None,):
                reg.asimov_experiment(experiment, quenching)


def evaluate(spec: ScanSpec, block: Block, *,
             registry: PhysicsRegistry | None = None) -> BlockValues:
    """χ² of every experiment of ``spec`` over ``block``, and how many fits did not converge."""
    return evaluate_parameters(spec, block_parameters(spec, block), block.shape,
                               registry=registry)


def evaluate_points(spec: ScanSpec, coords: dict[str, NDArray], *,
                    registry: PhysicsRegistry | None = None) -> dict[str, NDArray]:
    """χ² of every experiment at a list of points: ``coords`` maps each axis to (P,) values.

    Returns ``{experiment: array}`` of shape ``(P,)`` (+ ``(n_quenching,)``), as
    :func:`evaluate` (used by the refinement levels, whose points are scattered).
    """
    params: dict[str, object] = dict(spec.model.fixed)
    n = None
    for axis in spec.axes:
        params[axis.name] = np.asarray(coords[axis.name], dtype=float)
        n = params[axis.name].shape
    return evaluate_parameters(spec, params, n, registry=registry).chi2


def evaluate_parameters(spec: ScanSpec, params: dict[str, object], shape: tuple[int, ...], *,
                        registry: PhysicsRegistry | None = None) -> BlockValues:
    """χ² of every experiment for model parameters ``params`` broadcasting to ``shape``, and
    how many fits did not converge."""
    reg = registry or default_registry()
    model = reg.get_model(spec.model.name)
    out: dict[str, NDArray] = {}
    unconverged: dict[str, int] = {}
    for name in spec.experiments:
        experiment = reg.get_experiment(name)
        choices = spec.quenching_for(name)
        values = []
        unconverged[name] = 0
        for quenching in choices or (None,):
            signal = model.signal_counts(experiment, quenching, params)
            judge = (experiment if spec.data == "observed"
                     else reg.asimov_experiment(experiment, quenching))
            fit = judge.profile(signal)
            chi2 = np.asarray(fit.chi2, dtype=np.float64)
            if chi2.shape != tuple(shape):
                raise RuntimeError(f"{name}: chi2 has shape {chi2.shape}, expected {shape}")
            values.append(chi2)
            unconverged[name] += int(np.size(fit.converged) - np.count_nonzero(fit.converged))
        out[name] = np.stack(values, axis=-1) if choices else values[0]
    return BlockValues(out, unconverged)
