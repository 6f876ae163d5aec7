"""The chunk plan: the grid cut into rectangular blocks aligned with the store's Zarr chunks.

Block ``(i, j, …)`` covers ``[i·c0, min((i+1)·c0, n0)) × [j·c1, …)``: exactly one Zarr chunk
of every data variable (the quenching dimension, if any, is one whole chunk), so two writers
never touch one chunk (docs/design.md#blocks, xarray #8371) and ``done[i, j, …]`` is its completion
cell.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Block:
    """One block of the grid: its index in the block grid and its start/stop along each axis."""

    index: tuple[int, ...]
    start: tuple[int, ...]
    stop: tuple[int, ...]

    @property
    def region(self) -> tuple[slice, ...]:
        """Slices of the grid this block covers."""
        return tuple(slice(a, b) for a, b in zip(self.start, self.stop, strict=True))

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of points along each axis."""
        return tuple(b - a for a, b in zip(self.start, self.stop, strict=True))


def block_grid_shape(shape: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[int, ...]:
    """Number of blocks along each axis (ceil(n / c))."""
    if len(shape) != len(chunks) or any(c < 1 for c in chunks):
        raise ValueError(f"chunks {chunks} do not fit grid shape {shape}")
    return tuple(-(-n // c) for n, c in zip(shape, chunks, strict=True))


def block_at(index: tuple[int, ...], shape: tuple[int, ...], chunks: tuple[int, ...]) -> Block:
    """The block with block-grid index ``index``."""
    start = tuple(i * c for i, c in zip(index, chunks, strict=True))
    stop = tuple(min(s + c, n) for s, c, n in zip(start, chunks, shape, strict=True))
    return Block(tuple(index), start, stop)


def plan_blocks(shape: tuple[int, ...], chunks: tuple[int, ...],
                done: np.ndarray | None = None) -> Iterator[Block]:
    """Blocks in C order, skipping those whose ``done`` cell is set.

    ``done`` has the block-grid shape (see :func:`block_grid_shape`).

    Examples
    --------
    >>> [(b.start, b.stop) for b in plan_blocks((5, 3), (2, 3))]
    [((0, 0), (2, 3)), ((2, 0), (4, 3)), ((4, 0), (5, 3))]
    """
    grid = block_grid_shape(shape, chunks)
    if done is not None and done.shape != grid:
        raise ValueError(f"done map has shape {done.shape}, block grid is {grid}")
    for index in itertools.product(*(range(g) for g in grid)):
        if done is None or not done[index]:
            yield block_at(index, shape, chunks)
