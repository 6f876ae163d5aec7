"""Allowed/excluded classification of a refined store against a dense uniform one (tests and
benchmarks/bench_refine.py)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from nubound.storage.limits import available_experiments, combined_chi2


def classification_differences(fine, ref, cl: float = 0.9) -> dict:
    """Points of the uniform grid ``ref`` classified differently by the refined grid ``fine``
    (same coordinates; allowed: Δχ² ≤ chi2.ppf(cl, dof) against the grid's global minimum),
    for the combination and each experiment alone, dof 1 and 2.

    Returns ``differ`` (all such points), ``beyond_one_step`` (those with no neighbour of the
    other class in ``ref`` along any axis: farther than one grid step from its boundary),
    ``allowed`` (allowed points of ``ref``, all targets) and ``by_target``.
    """
    differ = beyond = allowed = 0
    rows = {}
    for experiments in [None] + [[e] for e in available_experiments(ref)]:
        a = combined_chi2(fine, experiments).values
        b = combined_chi2(ref, experiments).values
        for dof in (1, 2):
            t = stats.chi2.ppf(cl, dof)
            ok_a, ok_b = a - np.nanmin(a) <= t, b - np.nanmin(b) <= t
            edge = np.zeros_like(ok_b)
            for ax in range(ok_b.ndim):
                for part in ((slice(1, None), slice(None, -1)), (slice(None, -1), slice(1, None))):
                    into = tuple(part[0] if i == ax else slice(None) for i in range(ok_b.ndim))
                    src = tuple(part[1] if i == ax else slice(None) for i in range(ok_b.ndim))
                    edge[into] |= ok_b[into] != ok_b[src]
            diff = ok_a != ok_b
            differ += int(diff.sum())
            beyond += int((diff & ~edge).sum())
            allowed += int(ok_b.sum())
            rows[f"{'+'.join(experiments or ['combined'])}, dof {dof}"] = int(diff.sum())
    return {"differ": differ, "beyond_one_step": beyond, "allowed": allowed,
            "by_target": rows}
