"""The chunk plan covers the grid exactly once, aligned with the chunks."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nubound.scanner.plan import block_grid_shape, plan_blocks

dims = st.integers(min_value=1, max_value=3)


@st.composite
def grids(draw):
    n = draw(dims)
    shape = tuple(draw(st.integers(1, 17)) for _ in range(n))
    chunks = tuple(draw(st.integers(1, 20)) for _ in range(n))
    return shape, chunks


@settings(max_examples=150, deadline=None)
@given(grids())
def test_blocks_cover_the_grid_exactly_once(grid):
    shape, chunks = grid
    hits = np.zeros(shape, dtype=int)
    for block in plan_blocks(shape, chunks):
        assert all(s % c == 0 for s, c in zip(block.start, chunks, strict=True))
        assert all(b - a <= c for a, b, c in zip(block.start, block.stop, chunks, strict=True))
        hits[block.region] += 1
    assert (hits == 1).all()


@settings(max_examples=100, deadline=None)
@given(grids(), st.randoms(use_true_random=False))
def test_done_blocks_are_skipped_and_the_rest_cover_the_remainder(grid, rnd):
    shape, chunks = grid
    grid_shape = block_grid_shape(shape, chunks)
    done = np.array([rnd.random() < 0.5 for _ in range(int(np.prod(grid_shape)))],
                    dtype=bool).reshape(grid_shape)
    hits = np.zeros(shape, dtype=int)
    for block in plan_blocks(shape, chunks):
        if done[block.index]:
            hits[block.region] += 1
    for block in plan_blocks(shape, chunks, done):
        assert not done[block.index]
        hits[block.region] += 1
    assert (hits == 1).all()
