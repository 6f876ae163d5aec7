"""Where a store's profiles did not converge: the lines ``nubound status``, ``limits`` and
``plot`` print.

The worker stores, per block and experiment, how many profiles (grid points × quenching
choices) stopped at an iteration cap or damping limit instead of their stopping rule
(``unconverged_<experiment>``, ``storage.store``). Their χ² may lie above the minimum: a
limit that runs through such a block is not guaranteed (docs/statistics.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from nubound.storage.limits import available_experiments
from nubound.storage.store import DONE, unconverged_name

MAX_BLOCKS_LISTED = 3


def _block_region(ds: xr.Dataset, index: tuple[int, ...]) -> str:
    """``axis lo–hi`` of every axis of one block (its first and last grid values)."""
    chunks = ds[DONE].attrs["block_chunks"]
    parts = []
    for dim, i, size in zip(ds[DONE].dims, index, chunks, strict=True):
        axis = dim.removeprefix("block_")
        values = np.asarray(ds[axis].values)[i * size:(i + 1) * size]
        parts.append(f"{axis} {values[0]:.3g}–{values[-1]:.3g}")
    return ", ".join(parts)


def fit_failures(ds: xr.Dataset, experiments: Sequence[str] | None = None, *,
                 max_blocks: int = MAX_BLOCKS_LISTED) -> list[str]:
    """One line per experiment with unconverged profiles: their number, the number of blocks
    and the regions of the first ``max_blocks`` blocks; a line saying the store does not
    record it (older stores); nothing when every profile converged.

    Examples
    --------
    >>> ds = xr.Dataset({"done": (("block_g",), np.ones(2, np.uint8), {"block_chunks": [2]}),
    ...                  "unconverged_x": (("block_g",), np.array([0, 3], np.uint32)),
    ...                  "chi2_x": (("g",), np.zeros(4))}, coords={"g": [1.0, 2.0, 3.0, 4.0]})
    >>> fit_failures(ds)
    ['x: 3 profiles did not converge (χ² there may lie above its minimum), in 1 block: g 3–4']
    """
    if DONE not in ds:  # not a scan store
        return []
    names = experiments if experiments is not None else available_experiments(ds)
    lines = []
    for exp in names:
        if unconverged_name(exp) not in ds:
            lines.append(f"{exp}: convergence of the profiles not recorded (store made "
                         "before nubound stored it)")
            continue
        counts = np.asarray(ds[unconverged_name(exp)].values)
        blocks = np.argwhere(counts > 0)
        if not blocks.size:
            continue
        where = "; ".join(_block_region(ds, tuple(b)) for b in blocks[:max_blocks])
        more = f"; and {len(blocks) - max_blocks} more" if len(blocks) > max_blocks else ""
        total = int(counts.sum())
        lines.append(f"{exp}: {total} profile{'s' if total > 1 else ''} did not converge (χ² "
                     f"there may lie above its minimum), in {len(blocks)} block"
                     f"{'s' if len(blocks) > 1 else ''}" + (f": {where}{more}" if where else ""))
    return lines
