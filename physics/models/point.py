"""One BSM parameter point on one experiment: what ``nubound predict --model`` prints."""

from __future__ import annotations

import numpy as np

from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments.base import Experiment
from nubound.physics.models import get_model


def evaluate_point(
    experiment: Experiment, model_name: str, params: dict, quenching: str | None = None
) -> dict:
    """JSON-ready expected events of one point (SM + BSM) and its profiled χ².

    Returns ``model``, ``params``, ``quenching``, ``cevns_events`` (nuclear recoils),
    ``electron_events``, ``signal_events`` (their sum; each a total over the analysis bins, at
nominal nuisances: node 0 of an experiment with several ``signal_nodes``)
    and ``chi2`` (the experiment's χ² of the signal, profiled over its nuisances).
    """
    model = get_model(model_name)
    quenching = experiment.check_quenching(quenching)
    values, options = model.validate(params)
    if any(v.ndim for v in values.values()):
        raise PhysicsInputError("evaluate_point takes one point: scalar parameter values only")
    nuclear = model.signal_counts(experiment, quenching, params, kinds=("nucleus",))
    electron = model.signal_counts(experiment, quenching, params, kinds=("electron",))
    signal = model.signal_counts(experiment, quenching, params)
    nominal = slice(0, experiment.n_bins)  # totals at nominal nuisances: signal node 0
    return {
        "model": model.name,
        "params": {**{k: float(v) for k, v in values.items()}, **options},
        "quenching": quenching,
        "cevns_events": float(np.sum(nuclear[..., nominal])),
        "electron_events": float(np.sum(electron[..., nominal])),
        "signal_events": float(np.sum(signal[..., nominal])),
        "chi2": float(experiment.chi2(signal)),
    }
