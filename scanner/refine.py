"""Adaptive refinement: after the base grid, levels that halve the step where limits are decided.

Cells (docs/refinement.md). Along the refined axes the points of level ``k`` span cells of side
2^-k base steps (the other axes are never cut: a cell lives at one value of each). A cell of
level ``k`` is *present* when all its corners are computed, a *leaf* when present and not cut
into present cells of level ``k + 1``. Level ``L`` is planned from all data of levels < L:

1. targets: the combined χ² (sum over experiments, quenching profiled) and each experiment's
   (quenching profiled), as ``spec.refine.targets`` says, each as Δχ² against its current
   minimum over the whole grid and, when some axes are not refined, against its minimum over
   the refined axes at each value of the others (per mass: the raster scan); both minima are
   re-taken at every level;
2. a leaf is marked when, for any target and any threshold ``chi2.ppf(cl, dof)`` (every
   ``cl`` of ``confidence_levels``, dof = 1 and the number of refined axes), the target may
   cross the threshold inside it: its lowest corner ≤ t < a bound on its largest value inside
   (the corner maximum; with quenching profiled, :meth:`Target.cell_upper`); or when along a
   refined axis a computed point is a local minimum of the target's χ² deeper than
   :data:`MIN_DEPTH` than both its computed neighbours (an allowed band or island may lie
   between them): the leaves between those neighbours are marked; so are those around the
   current minima of step 1 themselves, so that Δχ² is taken against a minimum resolved to
   the finest level;
3. guard band: every marked leaf also marks the leaves within one cell of its own size; with
   two or more refined axes only leaves of levels below :data:`GUARD_LEVELS_2D` (finer ones
   are refined as marked, :func:`guard_band`);
4. every point of level L inside a marked leaf that no level computed yet is computed.

Marks are a pure function of the stored data, so a resumed scan plans exactly the same points
(checked against the stored ``todo`` map). Each level's blocks go through
:func:`nubound.scanner.dispatch.dispatch` like the base blocks (same retries, window, progress).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import TextIO

import numpy as np
from scipy import stats

from nubound.scanner.catalogue import PhysicsRegistry
from nubound.scanner.dispatch import dispatch, tell_task_duration
from nubound.scanner.evaluate import evaluate_points
from nubound.scanner.plan import Block, block_at, block_grid_shape
from nubound.scanner.spec import ScanSpec
from nubound.storage import levels as lv

log = logging.getLogger(__name__)

#: depth (in χ²) of a sampled local minimum below both neighbours that marks its cells
MIN_DEPTH = 0.01
#: with several refined axes, leaves of levels below this one still get the guard band
GUARD_LEVELS_2D = 2
LEVEL_KEY_PREFIX = "nubound-level"


@dataclass(frozen=True)
class LevelReport:
    """What one refinement level did: blocks and points planned/computed, seconds."""

    level: int
    blocks_planned: int
    blocks_computed: int
    points_planned: int
    points_computed: int
    wall_s: float


def _sl(ndim: int, axis: int, part: slice) -> tuple[slice, ...]:
    return tuple(part if i == axis else slice(None) for i in range(ndim))


def corner_reduce(values: np.ndarray, axes: tuple[int, ...], op) -> np.ndarray:
    """Reduce the 2^d corners of every cell along ``axes`` with the binary ``op``."""
    out = values
    for ax in axes:
        out = op(out[_sl(out.ndim, ax, slice(None, -1))], out[_sl(out.ndim, ax, slice(1, None))])
    return out


def cells_to_points(cells: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Points that are corners of a True cell."""
    out = cells
    for ax in axes:
        pad = [(0, 0)] * out.ndim
        pad[ax] = (0, 1)
        lo = np.pad(out, pad)
        pad[ax] = (1, 0)
        out = lo | np.pad(out, pad)
    return out


def dilate(cells: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Cells within one cell (diagonals included) of a True cell along ``axes``."""
    out = cells.copy()
    for ax in axes:
        src = out.copy()
        out[_sl(out.ndim, ax, slice(1, None))] |= src[_sl(out.ndim, ax, slice(None, -1))]
        out[_sl(out.ndim, ax, slice(None, -1))] |= src[_sl(out.ndim, ax, slice(1, None))]
    return out


def repeat_cells(cells: np.ndarray, axes: tuple[int, ...], factor: int) -> np.ndarray:
    """Each cell as its ``factor``^d sub-cells along ``axes``."""
    out = cells
    for ax in axes:
        out = np.repeat(out, factor, axis=ax)
    return out


def any_of_subcells(cells: np.ndarray, axes: tuple[int, ...], factor: int) -> np.ndarray:
    """True for a coarse cell when any of its ``factor``^d sub-cells is True."""
    out = cells
    for ax in axes:
        shape = out.shape
        out = out.reshape(shape[:ax] + (shape[ax] // factor, factor) + shape[ax + 1:])
        out = out.any(axis=ax + 1)
    return out


def argmin_points(chi2: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Bool point grid: the computed point of lowest χ² over the grid and, when some axes are
    not refined, over the refined axes at each value of the others (the minima of
    :func:`minima_of`)."""
    out = np.zeros(chi2.shape, dtype=bool)
    if np.isnan(chi2).all():
        return out
    out[np.unravel_index(np.nanargmin(chi2), chi2.shape)] = True
    if len(axes) < chi2.ndim:
        rest = tuple(i for i in range(chi2.ndim) if i not in axes)
        moved = np.moveaxis(chi2, axes, tuple(range(-len(axes), 0)))
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        lines = ~np.isnan(flat).all(axis=-1)
        best = np.zeros(flat.shape, dtype=bool)
        where = np.nonzero(lines)
        best[where + (np.nanargmin(flat[lines], axis=-1),)] = True
        out |= np.moveaxis(best.reshape(moved.shape), tuple(range(-len(axes), 0)), axes)
    return out


def line_spacing(n: int, level: int) -> np.ndarray:
    """Step (in points of the grid of ``level``) of the coarsest level whose grid holds each of
    the ``n`` lines across a refined axis: 2^level for the base lines, 1 for the lines of
    ``level`` itself."""
    j = np.arange(n)
    return np.where(j == 0, 2**level, np.minimum(j & -j, 2**level))


def local_minimum_cells(chi2: np.ndarray, known: np.ndarray, axes: tuple[int, ...],
                        depth: float = MIN_DEPTH, also: np.ndarray | None = None,
                        level: int = 0) -> np.ndarray:
    """Cells between the computed neighbours of every deep local minimum along each axis.

    ``chi2``/``known`` on the point grid of ``level``; ``also``: more points whose cells are
    marked the same way (the current minima, :func:`argmin_points`); returns a bool cell grid
    (one less along ``axes``). With several refined axes, a line of level k along one axis
    is sampled only where the others are refined to k or finer: a neighbour farther than that
    line's own step (:func:`line_spacing`) lies across unsampled ground and brackets nothing
    (else the inner ends of two refined strips would mark the whole valley between them).
    """
    cell_shape = tuple(n - 1 if i in axes else n for i, n in enumerate(chi2.shape))
    out = np.zeros(cell_shape, dtype=bool)
    for ax in axes:
        v = np.moveaxis(np.where(known, chi2, np.nan), ax, -1)
        k = np.moveaxis(known, ax, -1)
        n = v.shape[-1]
        idx = np.broadcast_to(np.arange(n), v.shape)
        prev = np.maximum.accumulate(np.where(k, idx, -1), axis=-1)
        prev = np.concatenate([np.full(v.shape[:-1] + (1,), -1), prev[..., :-1]], axis=-1)
        nxt = np.minimum.accumulate(np.where(k, idx, n)[..., ::-1], axis=-1)[..., ::-1]
        nxt = np.concatenate([nxt[..., 1:], np.full(v.shape[:-1] + (1,), n)], axis=-1)
        ok = k & (prev >= 0) & (nxt < n)
        vp = np.take_along_axis(v, np.clip(prev, 0, n - 1), axis=-1)
        vn = np.take_along_axis(v, np.clip(nxt, 0, n - 1), axis=-1)
        gap = np.full(v.shape[:-1] + (1,), np.iinfo(np.int64).max // 4)
        for other in axes:
            if other != ax:
                pos_other = [o for o in range(chi2.ndim) if o != ax].index(other)
                shape = [1] * gap.ndim
                shape[pos_other] = chi2.shape[other]
                gap = np.minimum(gap, line_spacing(chi2.shape[other], level).reshape(shape))
        near = (idx - prev <= gap) & (nxt - idx <= gap)
        with np.errstate(invalid="ignore"):
            minimum = ok & near & (np.minimum(vp, vn) - v > depth)
        if also is not None:
            minimum |= np.moveaxis(also, ax, -1) & k
        prev = np.where(idx - prev <= gap, prev, idx)  # the bracket of a minimum of ``also``
        nxt = np.where(nxt - idx <= gap, nxt, idx)     # ends where its line's samples end
        # mark the cells [prev, nxt) of every minimum: +1 at prev, -1 at nxt, cumulative sum
        delta = np.zeros(v.shape[:-1] + (n + 1,), dtype=np.int64)
        lines, pos = np.nonzero(minimum.reshape(-1, n))
        flat = delta.reshape(-1, n + 1)
        start = np.where(prev >= 0, prev, idx).reshape(-1, n)  # a minimum at the grid's edge:
        stop = np.where(nxt < n, nxt, idx).reshape(-1, n)       # its one side only
        np.add.at(flat, (lines, start[lines, pos]), 1)
        np.add.at(flat, (lines, stop[lines, pos]), -1)
        cells = np.cumsum(delta, axis=-1)[..., : n - 1] > 0
        cells = np.moveaxis(cells, -1, ax)
        for other in axes:  # a line lies on the boundary of the cells on both sides of it
            if other != ax:
                cells = corner_reduce(cells, (other,), np.logical_or)
        out |= cells
    return out


@dataclass(frozen=True)
class Target:
    """A χ² that drives the marks: the sum of its experiments' χ² (``parts``, on the grid of the
    model axes, with an experiment's quenching choices as trailing axes), each profiled over
    its choices."""

    parts: tuple[np.ndarray, ...]
    ndim: int

    @staticmethod
    def _profile(part: np.ndarray, ndim: int) -> np.ndarray:
        return part.min(axis=tuple(range(ndim, part.ndim))) if part.ndim > ndim else part

    @property
    def surface(self) -> np.ndarray:
        """The profiled χ² (NaN where not computed)."""
        return np.sum([self._profile(p, self.ndim) for p in self.parts], axis=0)

    def cell_upper(self, axes: tuple[int, ...], factor: int) -> np.ndarray:
        """A bound on the profiled χ² inside every cell (corners ``factor`` points apart):
        per experiment the smallest, over its choices, of the choice's largest corner value.

        The profile is the minimum over choices, so inside the cell it lies below each choice
        and thus below that choice's corner maximum. Where the best choice changes inside the
        cell the profile can rise above all its own corners (the minimum of two crossing
        curves peaks at the crossing); the corner values of the profile alone would miss such
        a crossing of a threshold, this bound does not.
        """
        out = 0.0
        for part in self.parts:
            upper = corner_reduce(part[lv.strided(part.ndim, axes, factor)], axes, np.maximum)
            out = out + self._profile(upper, self.ndim)
        return out


def targets(spec: ScanSpec, merged: dict[str, np.ndarray]) -> list[Target]:
    """The χ² that drive the marks (quenching profiled), as ``spec.refine.targets`` says."""
    each = [merged[exp] for exp in spec.experiments]
    ndim = len(spec.axis_names)
    out = []
    if "combined" in spec.refine.targets:
        out.append(Target(tuple(each), ndim))
    if "each" in spec.refine.targets and (len(each) > 1 or not out):
        out.extend(Target((part,), ndim) for part in each)
    return out


def minima_of(chi2: np.ndarray, axes: tuple[int, ...]) -> list:
    """The minima Δχ² is taken against: the global one, and, when some axes are not refined,
    the minimum over the refined axes at each value of the others (a raster scan, e.g. per
    mediator mass: ``nubound limits --reference per_mass``)."""
    out = [np.nanmin(chi2)]
    if len(axes) < chi2.ndim:
        out.append(np.nanmin(chi2, axis=axes, keepdims=True))
    return out


def thresholds(spec: ScanSpec) -> list[float]:
    """Δχ² levels that drive the marks: chi2.ppf(cl, dof), dof = 1 and the refined axes."""
    dofs = sorted({1, len(spec.refine.axes)})
    return [float(stats.chi2.ppf(cl, d)) for cl in spec.refine.confidence_levels for d in dofs]


def guard_band(marked: np.ndarray, axes: tuple[int, ...], leaf_level: int = 0) -> np.ndarray:
    """The leaves refined for the marked ones (all of level ``leaf_level``): the marked leaves
    and their neighbours (a boundary that moves as the minimum falls, or bulges across an
    edge between corners on the same side, stays in refined cells), except with several
    refined axes for leaves of level ``GUARD_LEVELS_2D`` or finer: the marked leaves alone.

    A contour in 2-D is found again at every level by the threshold test on the leaves of
    every size against the current minimum, so around fine leaves a guard band only widens
    the refined strip (2.4 times the marked leaves of the last level of
    ``configs/paper_nsi.toml``, for the same classification of the dense grid to within one
    step; docs/refinement.md).
    """
    return dilate(marked, axes) if len(axes) == 1 or leaf_level < GUARD_LEVELS_2D else marked


def plan_level(spec: ScanSpec, merged: dict[str, np.ndarray], level: int) -> np.ndarray:
    """Bool mask (grid of ``level``) of the points to compute, from ``merged`` at ``level - 1``.

    ``merged`` maps each experiment to its χ² on the grid of level − 1 (NaN: not computed),
    as :func:`nubound.storage.levels.merged_values` returns it.
    """
    axes = tuple(spec.axis_names.index(a) for a in spec.refine.axes)
    fine = level - 1
    goals = targets(spec, merged)
    surfaces = [t.surface for t in goals]
    known = ~np.isnan(surfaces[0])
    levels_t = thresholds(spec)
    present = [corner_reduce(known[lv.strided(known.ndim, axes, 2 ** (fine - k))], axes,
                             np.logical_and) for k in range(fine + 1)]
    leaves = [present[k] & ~present[k + 1][lv.strided(known.ndim, axes, 2)] for k in range(fine)]
    leaves.append(present[fine])
    minima = np.zeros_like(present[fine])
    for chi2 in surfaces:
        minima |= local_minimum_cells(chi2, known, axes, also=argmin_points(chi2, axes),
                                      level=fine)
    guard = np.zeros_like(present[fine])
    for k in range(fine + 1):
        if not leaves[k].any():
            continue
        factor = 2 ** (fine - k)
        marked = any_of_subcells(minima, axes, factor)
        for goal, chi2 in zip(goals, surfaces, strict=True):
            lowest = corner_reduce(chi2[lv.strided(chi2.ndim, axes, factor)], axes, np.minimum)
            upper = goal.cell_upper(axes, factor)
            for minimum in minima_of(chi2, axes):
                lo, hi = lowest - minimum, upper - minimum
                for t in levels_t:
                    marked |= (lo <= t) & (hi > t)
        marked &= leaves[k]
        guard |= repeat_cells(guard_band(marked, axes, k), axes, factor)
    cells = np.zeros(tuple(2 * n if i in axes else n for i, n in enumerate(guard.shape)),
                     dtype=bool)
    for k in range(fine + 1):
        refined = leaves[k] & any_of_subcells(guard, axes, 2 ** (fine - k))
        cells |= repeat_cells(refined, axes, 2 ** (level - k))
    points = cells_to_points(cells, axes)
    known_next = np.zeros_like(points)
    known_next[lv.strided(points.ndim, axes, 2)] = known
    return points & ~known_next


def block_todo(mask: np.ndarray, chunks: tuple[int, ...]) -> np.ndarray:
    """Bool map over the blocks of a level's grid: True where the block holds points to compute."""
    grid = block_grid_shape(mask.shape, chunks)
    padded = np.zeros(tuple(g * c for g, c in zip(grid, chunks, strict=True)), dtype=bool)
    padded[tuple(slice(0, n) for n in mask.shape)] = mask
    shape = []
    for g, c in zip(grid, chunks, strict=True):
        shape += [g, c]
    return padded.reshape(shape).any(axis=tuple(range(1, 2 * len(grid), 2)))


def compute_level_block(spec: ScanSpec, level: int, block: Block, flat: np.ndarray,
                        coords: dict[str, np.ndarray], url: str, store_id: str,
                        registry: PhysicsRegistry | None) -> tuple[int, int]:
    """Worker task: compute the points ``flat`` of one block of ``level`` and write them.

    Returns ``(level, points computed)`` (0 when the block was already done).
    """
    if lv.level_block_is_done(url, store_id, level, block):
        return level, 0
    results = evaluate_points(spec, coords, registry=registry)
    lv.write_level_block(url, store_id, level, block, flat, results)
    return level, int(flat.size)


class _Bar:
    def __init__(self, level: int, total: int, stream: TextIO | None) -> None:
        self.level, self.total, self.done, self.stream = level, total, 0, stream
        self.last = 0.0

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.stream is None or (not force and now - self.last < 0.5):
            return
        self.last = now
        self.stream.write(f"\rrefine level {self.level}: {self.done}/{self.total} blocks")
        self.stream.flush()


def refine_scan_result(spec: ScanSpec, client, base, *, store_id: str, t0: float,
                       **options) -> object:
    """Run :func:`refine_store` after the base level of :func:`nubound.scanner.run.run_scan`;
    return its ``ScanResult`` with the levels' reports and points added, and the stored spec
    updated to this one's ``[refine]`` (client side)."""
    from dataclasses import replace

    from nubound.scanner.spec_toml import spec_to_toml
    from nubound.storage.store import update_attrs

    levels = refine_store(spec, client, url=base.url, store_id=store_id, **options)
    update_attrs(base.url, spec_toml=spec_to_toml(spec))
    return replace(base, levels=tuple(levels),
                   points_computed=base.points_computed + sum(r.points_computed for r in levels),
                   wall_s=time.perf_counter() - t0)


def refine_store(spec: ScanSpec, client, *, url: str, store_id: str,
                 registry: PhysicsRegistry | None = None, threads_max: int | None = None,
                 max_in_flight: int | None = None, retries: int = 3,
                 progress: TextIO | None = None, monitor=None,
                 lease=None) -> list[LevelReport]:
    """Compute (or resume) the refinement levels 1..``spec.refine.levels`` of a complete store.

    ``monitor`` (a :class:`~nubound.scanner.monitor.ScanMonitor`) is told each level's start
    (with its ``level``), its blocks and its end, as for the base grid. ``lease`` (the
    caller's :class:`~nubound.storage.lease.StoreLease`) is checked before each level is
    planned and after each block, as the base grid does: a lease another writer took over
    stops the scan with ``LeaseLostError``."""
    from nubound.storage.store import done_map

    if not done_map(url).all():
        raise RuntimeError(f"{url}: the base grid is incomplete; rerun the scan to finish it")
    reports = []
    experiments = list(spec.experiments)
    for level in range(1, spec.refine.levels + 1):
        t0 = time.perf_counter()
        if lease is not None:
            lease.check()
        lv.create_level(spec, url, level)
        maps = lv.level_maps(url, level)
        if maps is not None and not (maps[0] & ~maps[1]).any():
            reports.append(LevelReport(level, int(maps[0].sum()), 0, 0, 0, 0.0))
            continue
        merged = lv.merged_values(url, level - 1, experiments, list(spec.axis_names),
                                  spec.refine.axes)
        mask = plan_level(spec, merged, level)
        todo = block_todo(mask, spec.chunks)
        if maps is None:
            lv.write_plan(url, level, todo)
            done = np.zeros_like(todo)
        elif not np.array_equal(maps[0], todo):
            raise RuntimeError(f"{url}: level {level} plans other blocks than the stored plan; "
                               "the store's data or nubound's marking rules (a newer version, "
                               "docs/refinement.md) changed since it was planned; remove "
                               f"{lv.level_group(level)} and the later level groups from the "
                               "store to plan them again")
        else:
            done = maps[1]
        reports.append(_run_level(spec, client, level, mask, todo & ~done, url=url,
                                  store_id=store_id, registry=registry, threads_max=threads_max,
                                  max_in_flight=max_in_flight, retries=retries,
                                  progress=progress, planned=int(todo.sum()), t0=t0,
                                  monitor=monitor, lease=lease))
    return reports


def _run_level(spec: ScanSpec, client, level: int, mask: np.ndarray, todo: np.ndarray, *,
               url: str, store_id: str, registry, threads_max, max_in_flight, retries,
               progress, planned: int, t0: float, monitor=None, lease=None) -> LevelReport:
    shape = mask.shape
    values = {a.name: lv.level_axis_values(a.values, a.scale, level)
              if a.name in spec.refine.axes else np.asarray(a.values, dtype=float)
              for a in spec.axes}
    items = []
    for index in zip(*np.nonzero(todo), strict=True):
        block = block_at(tuple(int(i) for i in index), shape, spec.chunks)
        sub = mask[block.region]
        flat = np.flatnonzero(sub)
        local = np.unravel_index(flat, block.shape)
        coords = {a.name: values[a.name][block.start[i] + local[i]]
                  for i, a in enumerate(spec.axes)}
        items.append((block, flat, coords))
    run_id = uuid.uuid4().hex[:8]
    bar = _Bar(level, len(items), progress)
    computed = [0, 0]

    def submit(batch):
        keys = [f"{LEVEL_KEY_PREFIX}-{level}-{run_id}-" + "-".join(map(str, b.index))
                for b, _, _ in batch]
        return client.map(compute_level_block, [spec] * len(batch), [level] * len(batch),
                          [b for b, _, _ in batch], [f for _, f, _ in batch],
                          [c for _, _, c in batch], url=url, store_id=store_id,
                          registry=registry, key=keys, retries=retries, pure=False)

    def on_result(result: tuple[int, int]) -> None:
        if lease is not None:
            lease.check()
        computed[0] += result[1] > 0
        computed[1] += result[1]
        bar.done += 1
        bar.update()
        if monitor is not None:
            monitor.block_done(result)

    if items:
        npoints = sum(f.size for _, f, _ in items)
        tell_task_duration(client, LEVEL_KEY_PREFIX, 1e-3 * npoints / len(items))
    if monitor is not None:
        monitor.start(spec=spec, url=url, blocks_total=planned,
                      blocks_done=planned - len(items), level=level)
    try:
        dispatch(client, items, submit, on_result, threads_max=threads_max,
                 max_in_flight=max_in_flight)
    finally:
        if monitor is not None:
            monitor.close()
    if progress is not None and items:
        bar.update(force=True)
        progress.write("\n")
    log.info("refine level %d: %d blocks, %d points", level, computed[0], computed[1])
    return LevelReport(level, planned, computed[0], int(mask.sum()), computed[1],
                       time.perf_counter() - t0)
