"""Size guards: a scan's points, blocks and store size, estimated before any work starts.

A spec whose grid is larger than its limits is refused at validation, before the grid values,
the store or a cluster exist; the error says how large the scan would be and which key of the
spec's ``[size_limits]`` table raises the limit::

    [size_limits]            # defaults protect a laptop
    max_points = 1e9         # grid points (product of the axis lengths)
    max_blocks = 1e5         # blocks = Zarr chunks per array (files on disk)
    max_store_GB = 10        # estimated store size on disk, GB = 1e9 bytes

The store estimate is an upper bound: float64 χ² per point and quenching choice, without
compression, each chunk file rounded up to a 4 KiB filesystem block, plus one ``done`` file
per block.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nubound.physics.errors import ConfigError

DEFAULT_SIZE_LIMITS: dict[str, float] = {
    "max_points": 1e9,
    "max_blocks": 1e5,
    "max_store_GB": 10.0,
}
DISK_BLOCK_BYTES = 4096
BYTES_PER_VALUE = 8


@dataclass(frozen=True)
class ScanSize:
    """How large a scan is: grid points, blocks and the estimated store size on disk."""

    points: int
    blocks: int
    store_bytes: int

    def describe(self) -> str:
        """``"1e+12 points in 6.1e+07 blocks, ≈ 4.2e+04 GB on disk"``."""
        return (f"{self.points:.3g} points in {self.blocks:.3g} blocks, "
                f"≈ {self.store_bytes / 1e9:.3g} GB on disk")


def parse_size_limits(raw: Any) -> tuple[tuple[str, float], ...]:
    """Validate the ``[size_limits]`` table (sorted overrides; defaults are not stored)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"size_limits: expected a table, got {type(raw).__name__}")
    out = []
    for key, value in sorted(raw.items()):
        if key not in DEFAULT_SIZE_LIMITS:
            raise ConfigError(f"size_limits.{key}: unknown key; allowed keys: "
                              + ", ".join(DEFAULT_SIZE_LIMITS))
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value) or value <= 0):
            raise ConfigError(f"size_limits.{key}: expected a number > 0, got {value!r}")
        out.append((key, float(value)))
    return tuple(out)


def estimate_size(shape: Sequence[int], chunks: Sequence[int] | None = None,
                  columns: int = 1) -> ScanSize:
    """Points, blocks and store bytes of a grid (Python integers: no overflow, no arrays).

    ``columns`` is the number of χ² values per point (experiments × quenching choices).
    Without ``chunks`` only ``points`` is known (blocks and bytes are 0).

    >>> estimate_size((48, 64), (8, 64), columns=5).blocks
    6
    """
    points = math.prod(int(n) for n in shape)
    if chunks is None:
        return ScanSize(points, 0, 0)
    blocks = math.prod(-(-int(n) // int(c)) for n, c in zip(shape, chunks, strict=True))
    per_block = math.prod(int(c) for c in chunks) * columns * BYTES_PER_VALUE
    chunk_bytes = -(-per_block // DISK_BLOCK_BYTES) * DISK_BLOCK_BYTES
    return ScanSize(points, blocks, blocks * (chunk_bytes + DISK_BLOCK_BYTES))


def check_size(size: ScanSize, limits: Mapping[str, float] = (), *,
               axes: str = "") -> None:
    """Raise ConfigError naming the ``size_limits`` key if ``size`` exceeds a limit.

    ``limits`` overrides :data:`DEFAULT_SIZE_LIMITS`; ``axes`` (e.g. "mass_MeV 48 × coupling
    64") is quoted in the message. Blocks and bytes are only checked when known (> 0).
    """
    lim = DEFAULT_SIZE_LIMITS | dict(limits)
    checks = (("max_points", size.points), ("max_blocks", size.blocks),
              ("max_store_GB", size.store_bytes / 1e9))
    for key, value in checks:
        if value > lim[key]:
            where = f" (axes {axes})" if axes else ""
            what = size.describe() if size.blocks else f"{size.points:.3g} points"
            raise ConfigError(
                f"size_limits.{key}: the scan would have {what}{where}, more than "
                f"{key} = {lim[key]:g}; set [size_limits] {key} in the spec to allow it, or "
                "make the grid smaller")
