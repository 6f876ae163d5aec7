"""What ``nubound predict`` prints: an experiment's SM summary, plus one BSM point if asked."""

from __future__ import annotations

from nubound.physics.experiments.base import Experiment


def predict_summary(
    experiment: Experiment,
    *,
    quenching: str | None = None,
    model: str | None = None,
    params: dict[str, float] | None = None,
) -> dict:
    """JSON-ready summary of one experiment (keys documented in the README)."""
    out = experiment.summary(experiment.check_quenching(quenching))
    if model is not None:
        from nubound.physics.models.point import evaluate_point

        out.update(evaluate_point(experiment, model, params or {}, quenching=quenching))
    return out
