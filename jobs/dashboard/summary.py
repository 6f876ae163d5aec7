"""A scan store summarised for the dashboard page: a small dict of plain lists and numbers.

The summary is what travels from the scan driver to the scheduler (msgpack) and what the Bokeh
page draws; it is computed away from any event loop (the driver's monitor thread, the live
view's reader thread). Keys:

- ``store``, ``model``, ``data``, ``cl``, ``experiments``, ``updated_utc``;
- progress: ``blocks_done``, ``blocks_total``, ``points_done``, ``points_total``,
  ``points_per_s`` and ``eta_s`` (None until measured), optional ``level`` (the refinement level
  of a refining scan);
- ``done``: the completion map over the two axes of the limit plot (``x``, ``y``; ``y`` is None
  for a one-parameter model), ``x_edges``/``y_edges`` (block borders in the axes' units),
  ``fraction`` (nx × ny: share of the blocks done, averaged over the ``summarised`` axes);
- ``plot``: ``kind`` (``mediator``: upper coupling limit per mass,
  :func:`nubound.storage.limits.coupling_limits`; ``profile``: Δχ² of a one-parameter model;
  ``region``: Δχ² = threshold contours in the plane of the first two axes, the others
  profiled), axis names, labels and scales, ``threshold``, ``dof`` and ``curves``: one entry per
  experiment and one for the combination, each ``label``, ``xs``, ``ys`` (lists of paths).

Retried and failed blocks are scheduler facts: the scheduler plugin adds ``retried``,
``failed`` and ``failed_blocks`` (:mod:`nubound.jobs.dashboard.plugin`).
"""

from __future__ import annotations

import math
import time
import tomllib
from collections import deque
from datetime import UTC, datetime
from typing import Any

import numpy as np

from nubound.storage import limits as lim
from nubound.storage.contours import axis_scale, contour_paths

COMBINED = "combined"


class Throughput:
    """Points per second over a sliding window of (time, points done) samples, and the ETA."""

    def __init__(self, window_s: float = 120.0) -> None:
        self.window_s = window_s
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, points_done: int, now: float | None = None) -> None:
        """Record the number of points done at ``now`` (monotonic seconds)."""
        now = time.monotonic() if now is None else now
        self.samples.append((now, int(points_done)))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window_s:
            self.samples.popleft()

    def rate(self) -> float | None:
        """Points per second over the window; None before two samples with progress."""
        if len(self.samples) < 2:
            return None
        (t0, p0), (t1, p1) = self.samples[0], self.samples[-1]
        if t1 <= t0 or p1 <= p0:
            return None
        return (p1 - p0) / (t1 - t0)

    def eta_s(self, points_left: int) -> float | None:
        """Seconds to do ``points_left`` at the current rate (0 when nothing is left)."""
        if points_left <= 0:
            return 0.0
        rate = self.rate()
        return None if rate is None else points_left / rate


def _block_lengths(n: int, chunk: int) -> np.ndarray:
    return np.array([min(chunk, n - start) for start in range(0, n, chunk)])


def _edges(values: np.ndarray, chunk: int, scale: str) -> list[float]:
    """Block borders along one axis: midway between the last point of a block and the first
    of the next (geometric mean on a log axis), the grid's end points outside."""
    v = np.asarray(values, dtype=float)
    starts = list(range(0, v.size, chunk))
    out = [float(v[0])]
    for s in starts[1:]:
        a, b = v[s - 1], v[s]
        out.append(float(math.sqrt(a * b) if scale == "log" else 0.5 * (a + b)))
    out.append(float(v[-1]))
    return out


def _plot_axes(axes: list[str]) -> tuple[str, str, str | None]:
    """(kind, x, y) of the limit plot, as ``nubound plot`` chooses them."""
    mass = [a for a in axes if a.startswith("mass")]
    if mass and len(axes) >= 2:
        x = mass[0]
        return "mediator", x, lim.find_axis([a for a in axes if a != x], "coupling")
    if len(axes) == 1:
        return "profile", axes[0], None
    return "region", axes[0], axes[1]


def _label(ds, name: str) -> str:
    unit = ds[name].attrs.get("units") or ds[name].attrs.get("unit")
    return f"{name} [{unit}]" if unit and unit != "1" and not name.endswith(f"_{unit}") else name


def _finite_paths(xs: np.ndarray, ys: np.ndarray) -> tuple[list[list[float]], list[list[float]]]:
    """One path, NaN where undefined (Bokeh breaks lines there)."""
    return [np.asarray(xs, float).tolist()], [np.asarray(ys, float).tolist()]


def _curves(ds, kind: str, x: str, y: str | None, cl: float) -> tuple[list[dict], float, int]:
    names = lim.available_experiments(ds)
    groups = [(name, [name]) for name in names]
    if len(names) > 1:
        groups.append((COMBINED, names))
    dof = 2 if kind == "region" else 1
    level = lim.threshold(cl, dof)
    curves = []
    for label, exps in groups:
        if kind == "mediator":
            res = lim.coupling_limits(ds, experiments=exps, cl=cl, dof=dof, mass=x, coupling=y)
            xs, ys = _finite_paths(res[x].values, res["coupling_upper"].values)
        elif kind == "profile":
            dchi2 = lim.delta_chi2(lim.combined_chi2(ds, exps).compute())
            xs, ys = _finite_paths(dchi2[x].values, dchi2.values)
        else:
            chi2 = lim.combined_chi2(ds, exps)
            others = [a for a in lim.model_axes(chi2) if a not in (x, y)]
            dchi2 = lim.delta_chi2(lim.reduce_axes(chi2, others).compute())
            paths = contour_paths(dchi2, level, x=x, y=y)
            xs, ys = [], []
            for k in range(paths.sizes["path"]):
                sel = paths.path.values == k
                xs.append(paths.x.values[sel].tolist())
                ys.append(paths.y.values[sel].tolist())
        curves.append({"label": label, "xs": xs, "ys": ys})
    return curves, level, dof


def summarise(ds, *, throughput: Throughput | None = None, store: str = "",
              now: float | None = None) -> dict[str, Any]:
    """The summary (module docstring) of an opened store ``ds`` (``storage.store.open_store``).

    ``throughput`` (fed here with the points done) gives ``points_per_s`` and ``eta_s``.

    Examples
    --------
    >>> from nubound.storage.store import open_store             # doctest: +SKIP
    >>> summarise(open_store("out/quickstart.zarr"))["blocks_done"]  # doctest: +SKIP
    48
    """
    spec = tomllib.loads(str(ds.attrs.get("spec_toml", "")))
    cl = float(spec.get("confidence_level", 0.9))
    chunks = spec.get("chunks", {})
    done = np.asarray(ds["done"].values, dtype=float)
    axes = [str(d).removeprefix("block_") for d in ds["done"].dims]
    lengths = [_block_lengths(ds.sizes[a], int(chunks.get(a, ds.sizes[a]))) for a in axes]
    points = lengths[0].astype(float)
    for extra in lengths[1:]:
        points = np.multiply.outer(points, extra)
    points_done, points_total = int((points * done).sum()), int(points.sum())
    if throughput is not None:
        throughput.add(points_done, now)
    kind, x, y = _plot_axes(axes)
    rest = [i for i, a in enumerate(axes) if a not in (x, y)]
    fraction = done.mean(axis=tuple(rest)) if rest else done
    kept = [a for a in axes if a in (x, y)]
    if y is not None and kept.index(x) == 1:
        fraction = fraction.T
    scales = {a: axis_scale(ds[a]) for a in axes}
    n_done = int(done.sum())
    summary: dict[str, Any] = {
        "store": store, "model": lim.model_name(ds.attrs), "data": lim.data_kind(ds.attrs),
        "cl": cl, "experiments": lim.available_experiments(ds),
        "updated_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "blocks_done": n_done, "blocks_total": int(done.size),
        "points_done": points_done, "points_total": points_total,
        "points_per_s": throughput.rate() if throughput else None,
        "eta_s": throughput.eta_s(points_total - points_done) if throughput else None,
        "done": {
            "x": x, "y": y, "summarised": [axes[i] for i in rest],
            "x_edges": _edges(ds[x].values, int(chunks.get(x, ds.sizes[x])), scales[x]),
            "y_edges": (_edges(ds[y].values, int(chunks.get(y, ds.sizes[y])), scales[y])
                        if y is not None else [0.0, 1.0]),
            "fraction": np.asarray(fraction, float).reshape(len(lengths[axes.index(x)]), -1)
            .tolist(),
        },
    }
    plot = {"kind": kind, "x": x, "y": y, "x_label": _label(ds, x),
            "y_label": _label(ds, y) if y is not None else "Δχ²", "x_scale": scales[x],
            "y_scale": scales[y] if y is not None else "linear",
            "x_range": [float(ds[x].min()), float(ds[x].max())],
            "y_range": ([float(ds[y].min()), float(ds[y].max())] if y is not None else None),
            "curves": [], "threshold": None, "dof": None}
    if n_done:
        plot["curves"], plot["threshold"], plot["dof"] = _curves(ds, kind, x, y, cl)
        if y is None:
            plot["y_range"] = [0.0, 4.0 * plot["threshold"]]
    summary["plot"] = plot
    return summary


def read_summary(url: str, *, throughput: Throughput | None = None) -> dict[str, Any]:
    """Open the store at ``url``, load it into memory (without Dask: a client in this process
    would otherwise receive the reads as tasks) and summarise it."""
    from nubound.storage.store import normalize_url, open_store

    url = normalize_url(url)
    ds = open_store(url, dask=False).load()
    return summarise(ds, throughput=throughput, store=url)
