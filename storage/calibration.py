"""Feldman–Cousins calibrations inside a scan store (docs/feldman-cousins.md).

A calibration of one *target* (a set of experiments and a quenching treatment, e.g.
``coherent_csi+coherent_ar`` with quenching profiled) lives in the Zarr group
``fc/<target key>`` of the scan store, beside the χ² grids (which ``open_store`` does not
touch: xarray reads the root group only):

- ``points``: int64 (n_points, n_axes), the grid indices of the calibrated points (C order of
  their flat index); written once by the client when the calibration is created;
- ``t_toys``: float64 (n_points, n_toys), the test statistic t(θ) of every pseudo-experiment
  generated at each point; Zarr chunks = (points_per_block, n_toys): one block, one chunk;
- ``done``: uint8 (n_blocks,), one cell (and chunk) per block, written after its ``t_toys``;
- ``critical``: float64 (n_points, n_cl) and ``critical_low``/``critical_high`` (the ±1σ
  Monte Carlo band) for the attribute ``cl`` list, written by the client once every block is
  done (derived from ``t_toys``, so a rerun writes the same bytes);
- attributes: ``experiments``, ``quenching``, ``line_axis``, ``n_toys``, ``points_per_block``,
  ``cl``, ``region``, ``band``, ``seed_scheme``, ``store_id``.

Workers only write ``t_toys`` and ``done`` of their own block; only the client writes attributes
and ``critical``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from nubound.physics.errors import ConfigError
from nubound.storage.store import StoreMismatchError, _open_group, normalize_url

GROUP = "fc"
SEED_SCHEME = (
    "numpy.random.SeedSequence(entropy=int(store_id, 16), spawn_key=(flat index of the "
    "point over the model axes in C order, zlib.crc32(experiment name))) -> PCG64: one "
    "stream per grid point and experiment, whatever the target, the block or the worker; "
    "Experiment.toy_data draws the pseudo-data from it"
)


def target_key(experiments: Sequence[str], quenching: str | Mapping[str, str]) -> str:
    """Name of a target's group: ``exp1+exp2`` plus ``@quenching`` unless it is profiled."""
    if isinstance(quenching, Mapping):
        q = ",".join(f"{e}={quenching[e]}" for e in experiments if e in quenching
                     and quenching[e] != "profile")
    else:
        q = "" if quenching == "profile" else quenching
    return "+".join(experiments) + (f"@{q}" if q else "")


def _path(key: str) -> str:
    return f"{GROUP}/{key}"


def calibration_keys(url: str) -> list[str]:
    """Targets calibrated (completely or not) in the store."""
    group = _open_group(normalize_url(url), "r")
    if GROUP not in group:
        return []
    return sorted(group[GROUP].group_keys())


def create_calibration(url: str, key: str, *, points: np.ndarray, n_toys: int,
                       points_per_block: int, attrs: Mapping[str, object]) -> bool:
    """Create the target's arrays (client), or check that the existing ones hold the same
    calibration (then it resumes). Returns True if created."""
    root = _open_group(url, "r+")
    points = np.asarray(points, dtype=np.int64)
    if _path(key) in root:
        group = root[_path(key)]
        same = (group.attrs.get("n_toys") == n_toys
                and group.attrs.get("points_per_block") == points_per_block
                and np.array_equal(group["points"][...], points))
        if not same:
            raise StoreMismatchError(
                f"calibration {key} in {url} was started with other toys, points or blocks "
                f"({group.attrs.get('n_toys')} toys, {group['points'].shape[0]} points); rerun "
                "with the same options, or delete the group fc/" + key)
        return False
    group = root.require_group(_path(key))
    n = points.shape[0]
    n_blocks = -(-n // points_per_block)
    group.create_array("points", shape=points.shape, dtype="int64",
                       chunks=(max(n, 1), points.shape[1]))[...] = points
    group.create_array("t_toys", shape=(n, n_toys), dtype="float64",
                       chunks=(points_per_block, n_toys), fill_value=np.nan)
    group.create_array("done", shape=(n_blocks,), dtype="uint8", chunks=(1,), fill_value=0)
    group.attrs.update(dict(attrs) | {"n_toys": int(n_toys),
                                      "points_per_block": int(points_per_block),
                                      "seed_scheme": SEED_SCHEME})
    return True


def done_map(url: str, key: str) -> np.ndarray:
    """Completion map of the target's blocks (bool)."""
    return np.asarray(_open_group(url, "r")[_path(key)]["done"][...], dtype=bool)


@lru_cache(maxsize=32)
def _arrays(url: str, store_id: str, key: str) -> dict:
    root = _open_group(url, "r+")
    if root.attrs.get("store_id") != store_id:
        raise StoreMismatchError(f"store {url} is not the store {store_id} of this calibration")
    group = root[_path(key)]
    return {"t_toys": group["t_toys"], "done": group["done"]}


def block_is_done(url: str, store_id: str, key: str, block: int) -> bool:
    """True if calibration block ``block`` is written."""
    return bool(_arrays(url, store_id, key)["done"][block])


def write_block(url: str, store_id: str, key: str, block: int, t_toys: np.ndarray) -> None:
    """Write one block's test statistics (its chunk of ``t_toys``), then its done cell."""
    arrays = _arrays(url, store_id, key)
    size = arrays["t_toys"].chunks[0]
    start = block * size
    arrays["t_toys"][start:start + t_toys.shape[0]] = t_toys
    arrays["done"][block] = 1


def write_critical(url: str, key: str, cls: Sequence[float], critical: np.ndarray,
                   low: np.ndarray, high: np.ndarray) -> None:
    """Store the critical values (n_points, n_cl) and their ±1σ band (client)."""
    group = _open_group(url, "r+")[_path(key)]
    for name, values in (("critical", critical), ("critical_low", low),
                         ("critical_high", high)):
        values = np.asarray(values, dtype=np.float64)
        if name in group:
            del group[name]
        group.create_array(name, shape=values.shape, dtype="float64",
                           chunks=values.shape)[...] = values
    group.attrs.update(cl=[float(c) for c in cls])


def read_calibration(url: str, key: str) -> dict:
    """Everything of one target: ``points``, ``t_toys``, ``done`` and the attributes."""
    root = _open_group(normalize_url(url), "r")
    if _path(key) not in root:
        available = calibration_keys(url)
        raise ConfigError(
            f"method fc: the store has no calibration of '{key}'; calibrated: "
            f"{', '.join(available) or 'none'} (run `nubound calibrate`)")
    group = root[_path(key)]
    out = {name: group[name][...] for name in group.array_keys()}
    out["attrs"] = dict(group.attrs)
    return out


def point_rows_done(calibration: Mapping) -> np.ndarray:
    """Bool per calibrated point: its block is written."""
    size = int(calibration["attrs"]["points_per_block"])
    blocks = np.arange(calibration["points"].shape[0]) // size
    return np.asarray(calibration["done"], dtype=bool)[blocks]


def critical_grid(url: str, key: str, chi2, cl: float):
    """Critical values t_c(θ) over the grid of ``chi2`` (an xarray DataArray over the model
    axes) for confidence level ``cl``, from the stored toys of target ``key``.

    At each calibrated point t_c is the CL-quantile of its toys
    (``statistics.neyman.critical_value``); along each grid line of the shown axis it is
    interpolated between the line's calibrated points (in ln x on log axes, constant beyond
    them, ``statistics.neyman.interpolate_critical``); lines without calibrated points are NaN
    (the limits then use Wilks' threshold there). Returns ``(DataArray, info)``; ``info`` says
    how many toys and which points were calibrated.
    """
    import xarray as xr

    from nubound.physics.statistics.neyman import critical_value, interpolate_critical
    from nubound.storage.contours import axis_scale

    cal = read_calibration(url, key)
    attrs = cal["attrs"]
    axes = list(attrs["axes"])
    line = attrs["line_axis"]
    if sorted(axes) != sorted(str(d) for d in chi2.dims):
        raise ConfigError(f"method fc: calibration {key} is over {axes}, the limits over "
                          f"{list(chi2.dims)}")
    grid = chi2.transpose(*axes)
    done = point_rows_done(cal)
    points = cal["points"][done]
    values = critical_value(cal["t_toys"][done], cl) if done.any() else np.zeros(0)
    k = axes.index(line)
    x = np.asarray(grid[line].values, dtype=float)
    log = axis_scale(grid[line]) == "log"
    out = np.full(grid.shape, np.nan)
    others = np.delete(points, k, axis=1)
    lines = {tuple(row) for row in others}
    for other in lines:
        on = np.all(others == np.array(other, dtype=np.int64), axis=1)
        index = list(other)
        index.insert(k, slice(None))
        out[tuple(index)] = interpolate_critical(x, x[points[on, k]], values[on], log=log)
    info = {
        "method": "fc", "fc_target": key, "fc_toys_per_point": int(attrs["n_toys"]),
        "fc_points_calibrated": int(done.sum()), "fc_points_planned": int(done.size),
        "fc_lines_calibrated": len(lines), "fc_line_axis": line,
        "fc_calibrated_points": [
            {a: float(grid[a].values[i]) for a, i in zip(axes, row, strict=True)}
            | {"critical": float(c)} for row, c in zip(points, values, strict=True)],
    }
    return xr.DataArray(out, coords=grid.coords, dims=grid.dims), info
