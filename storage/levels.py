"""Refinement levels of a scan store: one Zarr group per level, and the finest data of a store.

Layout (docs/refinement.md). Level ``k`` (1, 2, …) of a store refined along the axes ``R``
is the group ``level_<k>`` beside the base arrays. It has the base store's variables at the
resolution of level ``k``: along a refined axis of ``n`` base points it has ``(n − 1)·2^k + 1``
points (the base point ``i`` is its point ``i·2^k``; the values in between are interpolated in
ln x on log axes, in x otherwise, :func:`level_axis_values`); the other axes are the base ones.

- ``chi2_<experiment>``: float64, Zarr chunks = the spec's chunks, NaN where not computed. A chunk
  is written once, whole, by the task that computes its points: a chunk that holds no computed
  point is never written and takes no space (Zarr stores no chunk that was never written);
- ``todo``: uint8 over the level's blocks (dims ``block_<axis>``), 1 = the block holds points
  to compute; written once by the client when the level is planned (attr ``planned``);
- ``done``: uint8, one cell (and Zarr chunk) per block, set by the worker after the values;
- attrs: ``level``, ``refined_axes``, ``layout_complete`` (set last when the group is created),
  ``planned`` (set after ``todo``).

Readers use :func:`finest_dataset`: the base grid and every level merged on the grid of the
finest level, a point's value taken from whichever level computed it, plus ``computed``
(True where a value was computed rather than interpolated).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from nubound.physics.errors import ConfigError
from nubound.storage import store as st

if TYPE_CHECKING:  # storage does not import the scanner at run time (docs/design.md#packages)
    import xarray as xr

    from nubound.scanner.plan import Block
    from nubound.scanner.spec import ScanSpec

TODO = "todo"
COMPUTED = "computed"


def level_group(level: int) -> str:
    """Name of the Zarr group of refinement level ``level`` (≥ 1)."""
    return f"level_{level}"


def level_size(n: int, level: int) -> int:
    """Points of a refined axis of ``n`` base points at ``level``: (n − 1)·2^level + 1."""
    return (n - 1) * 2**level + 1


def level_axis_values(values, scale: str, level: int) -> np.ndarray:
    """Values of a refined axis at ``level``: base values at every 2^level-th point, exactly.

    Points in between are linear in ln x for ``scale == "log"``, in x otherwise.

    Examples
    --------
    >>> level_axis_values([1.0, 100.0], "log", 1).tolist()
    [1.0, 10.0, 100.0]
    """
    base = np.asarray(values, dtype=float)
    step = 2**level
    pos = np.arange(level_size(base.size, level)) / step  # exact: a power-of-two divisor
    knots = np.arange(base.size, dtype=float)
    if scale == "log":
        out = np.exp(np.interp(pos, knots, np.log(base)))
    else:
        out = np.interp(pos, knots, base)
    out[::step] = base
    return out


def level_shape(spec: ScanSpec, level: int) -> tuple[int, ...]:
    """Grid shape of ``spec`` at ``level`` (refined axes grown, the others unchanged)."""
    refined = spec.refine.axes if spec.refine else ()
    return tuple(level_size(a.size, level) if a.name in refined else a.size for a in spec.axes)


def strided(ndim: int, axes: tuple[int, ...], step: int) -> tuple[slice, ...]:
    """Index taking every ``step``-th point along ``axes`` (a coarser level's points)."""
    return tuple(slice(None, None, step) if i in axes else slice(None) for i in range(ndim))


def _template(spec: ScanSpec, level: int):
    import dask.array as da
    import xarray as xr

    refined = spec.refine.axes
    shape = level_shape(spec, level)
    coords = {}
    for a in spec.axes:
        values = level_axis_values(a.values, a.scale, level) if a.name in refined \
            else np.asarray(a.values, dtype=float)
        coords[a.name] = xr.Variable((a.name,), values, attrs={"units": a.unit, "scale": a.scale})
    data_vars, encoding = {}, {}
    for exp in spec.experiments:
        dims, full, chunks = list(spec.axis_names), list(shape), list(spec.chunks)
        choices = spec.quenching_for(exp)
        if choices:
            qdim = st.quenching_dim(exp)
            coords[qdim] = xr.Variable((qdim,), np.arange(len(choices), dtype=np.int64),
                                       attrs={"choices": list(choices)})
            dims.append(qdim)
            full.append(len(choices))
            chunks.append(len(choices))
        data_vars[st.chi2_name(exp)] = xr.Variable(
            dims, da.full(full, np.nan, dtype=np.float64, chunks=tuple(chunks)),
            attrs={"experiment": exp, "long_name": f"chi-square of {exp}, level {level}"})
        encoding[st.chi2_name(exp)] = {"chunks": tuple(chunks)}
    grid = tuple(-(-n // c) for n, c in zip(shape, spec.chunks, strict=True))
    bdims = tuple(st.block_dim(a) for a in spec.axis_names)
    data_vars[st.DONE] = xr.Variable(bdims, da.zeros(grid, dtype=np.uint8, chunks=(1,) * len(grid)),
                                     attrs={"block_chunks": list(spec.chunks)})
    encoding[st.DONE] = {"chunks": (1,) * len(grid)}
    data_vars[TODO] = xr.Variable(bdims, da.zeros(grid, dtype=np.uint8, chunks=grid))
    encoding[TODO] = {"chunks": grid}
    attrs = {"level": level, "refined_axes": list(refined)}
    return xr.Dataset(data_vars, coords=coords, attrs=attrs), encoding


def _root(url: str, mode: str = "r"):
    return st._open_group(url, mode)


def levels_present(url: str) -> list[int]:
    """Levels whose group is completely laid out in the store at ``url``, in increasing order."""
    root = _root(url)
    out = []
    for name in root.group_keys():
        if name.startswith("level_") and root[name].attrs.get("layout_complete"):
            out.append(int(name.removeprefix("level_")))
    return sorted(out)


def create_level(spec: ScanSpec, url: str, level: int) -> None:
    """Lay out the group of ``level`` (client side); a group cut short by a crash is replaced.

    No values are written before ``layout_complete`` is set, so replacing an incomplete group
    loses nothing.
    """
    name = level_group(level)
    root = _root(url, "r+")
    if name in root.group_keys():
        if root[name].attrs.get("layout_complete"):
            return
        del root[name]
    ds, encoding = _template(spec, level)
    ds.to_zarr(url, group=name, mode="w-", compute=False, consolidated=False,
               zarr_format=st.ZARR_FORMAT, encoding=encoding)
    _root(url, "r+")[name].attrs["layout_complete"] = True


def write_plan(url: str, level: int, todo: np.ndarray) -> None:
    """Store the blocks of ``level`` that hold points to compute (client side), then ``planned``."""
    group = _root(url, "r+")[level_group(level)]
    group[TODO][...] = todo.astype(np.uint8)
    group.attrs["planned"] = True


def level_maps(url: str, level: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(todo, done)`` bool maps of a planned level, or None if it is not planned yet."""
    root = _root(url)
    name = level_group(level)
    if name not in root.group_keys() or not root[name].attrs.get("planned"):
        return None
    group = root[name]
    return (np.asarray(group[TODO][...], dtype=bool), np.asarray(group[st.DONE][...], dtype=bool))


@lru_cache(maxsize=64)
def _level_arrays(url: str, store_id: str, level: int) -> dict:
    root = _root(url, "r+")
    if root.attrs.get("store_id") != store_id:
        raise st.StoreMismatchError(f"store {url} is not the store {store_id} of this scan")
    group = root[level_group(level)]
    return {name: group[name] for name in group.array_keys()}


def level_block_is_done(url: str, store_id: str, level: int, block: Block) -> bool:
    """True if ``block`` of ``level`` is marked done."""
    return bool(_level_arrays(url, store_id, level)[st.DONE][block.index])


def write_level_block(url: str, store_id: str, level: int, block: Block, flat: np.ndarray,
                      results: dict[str, np.ndarray]) -> None:
    """Write the points ``flat`` (C-order indices inside ``block``) of one level's block.

    Each variable's chunk is written whole (NaN where no point was computed), then ``done``.
    """
    arrays = _level_arrays(url, store_id, level)
    n = int(np.prod(block.shape))
    for exp, values in results.items():
        target = arrays[st.chi2_name(exp)]
        extra = target.shape[len(block.shape):]
        chunk = np.full((n,) + extra, np.nan)
        chunk[flat] = values
        region = block.region + (slice(None),) * len(extra)
        target[region] = chunk.reshape(block.shape + extra)
    arrays[st.DONE][block.index] = 1


def _raw(group, experiments: list[str]) -> dict[str, np.ndarray]:
    return {e: np.asarray(group[st.chi2_name(e)][...], dtype=np.float64) for e in experiments}


def refined_axes(url: str) -> tuple[str, ...]:
    """The refined axes recorded in the store's levels (empty if it has none)."""
    present = levels_present(url)
    if not present:
        return ()
    return tuple(_root(url)[level_group(present[0])].attrs["refined_axes"])


def merged_values(url: str, level: int, experiments: list[str], axis_names: list[str],
                  refined: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Each experiment's χ² on the grid of ``level``, from the base and levels 1..``level``.

    NaN where no level computed the point. Values computed twice agree (deterministic).
    """
    root = _root(url)
    axes = tuple(axis_names.index(a) for a in refined)
    base = _raw(root, experiments)
    out = {}
    for exp, values in base.items():
        shape = list(values.shape)
        for i in axes:
            shape[i] = level_size(shape[i], level)
        merged = np.full(shape, np.nan)
        merged[strided(merged.ndim, axes, 2**level)] = values
        out[exp] = merged
    for k in range(1, level + 1):
        name = level_group(k)
        if name not in root.group_keys() or not root[name].attrs.get("layout_complete"):
            continue
        for exp, values in _raw(root[name], experiments).items():
            view = out[exp][strided(out[exp].ndim, axes, 2 ** (level - k))]
            known = ~np.isnan(values)
            view[known] = values[known]
    return out


def upsample(values: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Double the resolution along ``axes``: new points are the mean of their two neighbours."""
    out = values
    for ax in axes:
        out = np.moveaxis(out, ax, 0)
        fine = np.empty((2 * out.shape[0] - 1,) + out.shape[1:])
        fine[::2] = out
        fine[1::2] = 0.5 * (out[:-1] + out[1:])
        out = np.moveaxis(fine, 0, ax)
    return out


def fill_between(merged: np.ndarray, axes: tuple[int, ...], level: int) -> np.ndarray:
    """Fill the points no level computed, level by level (multilinear inside each leaf cell).

    Starting from the base grid, each level doubles the resolution by :func:`upsample` and
    keeps the computed values of that level's points.
    """
    filled = merged[strided(merged.ndim, axes, 2**level)]
    for k in range(1, level + 1):
        filled = upsample(filled, axes)
        known = merged[strided(merged.ndim, axes, 2 ** (level - k))]
        filled = np.where(np.isnan(known), filled, known)
    return filled


def finest_dataset(url: str, *, fill: bool = True) -> xr.Dataset:
    """The store's χ² on the grid of its finest level, each point from the level that computed it.

    A store without levels is returned as :func:`nubound.storage.store.open_store` gives it.
    Otherwise the Dataset has the base store's variables ``chi2_<experiment>`` on the finest
    grid (numpy-backed), ``computed`` (bool over the model axes: the point's value was computed),
    and attrs of the base store plus ``refine_levels`` and ``refined_axes``. With ``fill``
    (default) the points in between are interpolated multilinearly inside the finest cell that
    was computed around them (:func:`fill_between`), so grid readers (contours, limits) see a
    complete grid whose threshold crossings lie in computed cells; without it they are NaN.

    Examples
    --------
    >>> ds = finest_dataset("scans/quickstart.zarr")            # doctest: +SKIP
    >>> ds.chi2_coherent_csi.sel(mass_MeV=10, method="nearest")  # doctest: +SKIP
    """
    import xarray as xr

    url = st.normalize_url(url)
    base = st.open_store(url)
    present = levels_present(url)
    if not present:
        return base
    level = present[-1]
    refined = refined_axes(url)
    experiments = sorted(str(v).removeprefix("chi2_") for v in base.data_vars
                         if str(v).startswith("chi2_"))
    axis_names = [str(d) for d in base[st.chi2_name(experiments[0])].dims
                  if not str(d).startswith("quenching_")]
    merged = merged_values(url, level, experiments, axis_names, refined)
    axes = tuple(axis_names.index(a) for a in refined)
    coords = {}
    for name in axis_names:
        values = np.asarray(base[name].values, dtype=float)
        if name in refined:
            values = level_axis_values(values, base[name].attrs.get("scale", "lin"), level)
        coords[name] = (name, values, dict(base[name].attrs))
    data_vars = {}
    computed = None
    for exp in experiments:
        var = base[st.chi2_name(exp)]
        values = merged[exp]
        known = ~np.isnan(values)
        while known.ndim > len(axis_names):
            known = known.all(axis=-1)
        computed = known if computed is None else computed & known
        if fill:
            values = fill_between(values, axes, level)
        data_vars[st.chi2_name(exp)] = (var.dims, values, dict(var.attrs))
        for d in var.dims[len(axis_names):]:
            coords[d] = base[d]
    data_vars[COMPUTED] = (tuple(axis_names), computed,
                           {"long_name": "True where the value was computed (not interpolated)"})
    attrs = dict(base.attrs) | {"refine_levels": level, "refined_axes": list(refined)}
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def open_finest(url: str) -> xr.Dataset:
    """:func:`finest_dataset` (filled) with a one-line error when ``url`` holds no store."""
    if not st.store_exists(st.normalize_url(url)):
        raise ConfigError(f"no scan store at {url}")
    return finest_dataset(url)


def level_status(url: str) -> list[dict]:
    """Per level: ``level``, ``blocks_todo``, ``blocks_done``, ``planned``, ``points`` (the
    points the level holds; computed from its chunks), for ``nubound status``."""
    root = _root(url)
    out = []
    for level in levels_present(url):
        maps = level_maps(url, level)
        group = root[level_group(level)]
        names = sorted(n for n in group.array_keys() if n.startswith("chi2_"))
        values = np.asarray(group[names[0]][...]) if names else np.zeros(0)
        while values.ndim > len(group[st.DONE].shape):
            values = values[..., 0]
        todo, done = maps if maps else (np.zeros(0, bool), np.zeros(0, bool))
        out.append({"level": level, "planned": maps is not None,
                    "blocks_todo": int(todo.sum()), "blocks_done": int((done & todo).sum()),
                    "points": int(np.count_nonzero(~np.isnan(values)))})
    return out
