"""Boundaries of allowed regions on a grid: 1-D allowed intervals and 2-D contour paths.

The allowed region at a given confidence level is {Δχ² ≤ threshold}; its boundary is found
between the two grid points that straddle the threshold, never snapped to the grid. Each axis
has a plotting variable, u = ln x for a logarithmic axis (couplings, masses) and u = x otherwise
(NSI ε, which can be negative, or a magnetic-moment grid that starts at 0), and the
interpolation is chosen to be exact for the shapes Δχ² takes there:

- log axes: ln Δχ² linear in ln x (exact for a power law, e.g. Δχ² ∝ g⁴ of a mediator's rate
  shift ∝ g² far below the cancellation band); linear Δχ² in ln x when an end point has
  Δχ² = 0 (the minimum itself);
- linear axes: √Δχ² linear in x (exact for a parabola, a Gaussian likelihood);
- 2-D contours: marching squares (contourpy) on √Δχ² in the plotting variables.

Edges: an interval (or a contour path) that reaches the first or last grid point is *open* — the
allowed region continues beyond the grid and that end is not a measured boundary. Such ends
carry the grid value together with a boolean ``*_at_edge`` flag and must not be quoted as limits.
Points where Δχ² is NaN (chunks not computed yet) make the whole 1-D slice "incomplete": no
interval is returned for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from nubound.physics.errors import ConfigError

#: tolerance on the spread of the spacing when ``axis_scale`` decides between lin and log
_SPACING_RTOL = 1e-6


@dataclass(frozen=True)
class Interval:
    """One allowed interval of a 1-D Δχ² profile (``*_at_edge``: the end is the grid's edge)."""

    lower: float
    upper: float
    lower_at_edge: bool
    upper_at_edge: bool


def axis_scale(coord: xr.DataArray | NDArray) -> str:
    """``"log"`` or ``"linear"``: the variable in which an axis is interpolated and plotted.

    ``coord.attrs["scale"]`` as the store records the spec's axes (``"log"``, ``"lin"``) wins;
    for ``"values"`` axes or none, an axis is logarithmic when all values are positive and
    their ratios are more uniform than their differences, linear otherwise.
    """
    attrs = getattr(coord, "attrs", {}) or {}
    scale = attrs.get("scale")
    if scale == "log":
        return "log"
    if scale in ("lin", "linear"):
        return "linear"
    x = np.sort(np.asarray(coord, dtype=float))
    if x.size < 3 or np.any(x <= 0):
        return "linear"
    diffs, ratios = np.diff(x), x[1:] / x[:-1]
    lin_spread = np.ptp(diffs) / np.mean(np.abs(diffs))
    log_spread = np.ptp(np.log(ratios)) / np.mean(np.abs(np.log(ratios)))
    return "log" if log_spread < lin_spread + _SPACING_RTOL else "linear"


def _to_plot(x: NDArray, scale: str) -> NDArray:
    return np.log(x) if scale == "log" else np.asarray(x, dtype=float)


def _from_plot(t: float, scale: str) -> float:
    return float(np.exp(t)) if scale == "log" else float(t)


def allowed_intervals_1d(
    x: NDArray, delta_chi2: NDArray, threshold: float, *, scale: str = "linear"
) -> list[Interval] | None:
    """Allowed intervals {Δχ² ≤ threshold} of one 1-D profile, ends interpolated between points.

    Parameters
    ----------
    x : (n,) grid values (any order; sorted here), in the axis' unit.
    delta_chi2 : (n,) Δχ² at ``x``.
    threshold : the Δχ² level, e.g. ``scipy.stats.chi2.ppf(0.9, 1)`` = 2.706.
    scale : ``"log"`` (plotting variable ln x) or ``"linear"`` (x); see the module docstring
        for the interpolated quantity.

    Returns
    -------
    The intervals in increasing x (empty when every point is excluded), or ``None`` when the
    profile holds a NaN (incomplete: no statement is made).

    Examples
    --------
    >>> import numpy as np
    >>> g = np.geomspace(1e-6, 1e-3, 31)
    >>> (iv,) = allowed_intervals_1d(g, (g / 1e-4) ** 4, 2.706, scale="log")
    >>> round(iv.upper / 1e-4, 4), iv.lower_at_edge  # exact for a power law: 2.706^(1/4)
    (1.2826, True)
    """
    order = np.argsort(x)
    x = np.asarray(x, dtype=float)[order]
    v = np.asarray(delta_chi2, dtype=float)[order]
    if np.any(np.isnan(v)):
        return None
    t = _to_plot(x, scale)
    allowed = v <= threshold
    # starts/ends of runs of allowed points (indices into the grid)
    padded = np.concatenate([[False], allowed, [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(padded) == 1)
    ends = np.flatnonzero(np.diff(padded) == -1) - 1
    out = []
    for i0, i1 in zip(starts, ends, strict=True):
        lo_edge, hi_edge = bool(i0 == 0), bool(i1 == x.size - 1)
        lo = t[0] if lo_edge else _crossing(t[i0 - 1], t[i0], v[i0 - 1], v[i0], threshold,
                                            scale)
        hi = t[-1] if hi_edge else _crossing(t[i1], t[i1 + 1], v[i1], v[i1 + 1], threshold,
                                             scale)
        out.append(Interval(_from_plot(lo, scale), _from_plot(hi, scale), lo_edge, hi_edge))
    return out


def pack_intervals(rows: list[list[Interval] | None]) -> dict[str, NDArray]:
    """Stack per-row interval lists into (n_rows, n_interval) arrays padded with NaN/False.

    Keys: ``lower``, ``upper`` (float), ``lower_at_edge``, ``upper_at_edge`` (bool), and
    ``count`` (n_rows,) the number of intervals of each row (0 for an incomplete row).
    """
    shape = (len(rows), max([len(r) for r in rows if r] + [1]))
    out = {"lower": np.full(shape, np.nan), "upper": np.full(shape, np.nan),
           "lower_at_edge": np.zeros(shape, bool), "upper_at_edge": np.zeros(shape, bool)}
    for i, ivs in enumerate(rows):
        for k, iv in enumerate(ivs or []):
            for key in ("lower", "upper", "lower_at_edge", "upper_at_edge"):
                out[key][i, k] = getattr(iv, key)
    out["count"] = np.array([len(r or []) for r in rows], dtype=int)
    return out


def _crossing(t0: float, t1: float, v0: float, v1: float, level: float, scale: str) -> float:
    """Where Δχ² reaches ``level`` between (t0, v0) and (t1, v1) (they straddle it), in the
    plotting variable t; the interpolated quantity is chosen by ``scale`` (module docstring)."""
    if scale == "log" and v0 > 0 and v1 > 0:
        f0, f1, target = np.log(v0), np.log(v1), np.log(level)
    elif scale == "log" or v0 < 0 or v1 < 0:
        # Δχ² against a reference that is not the minimum (the SM point) can be negative
        f0, f1, target = v0, v1, level
    else:
        f0, f1, target = np.sqrt(v0), np.sqrt(v1), np.sqrt(level)
    return float(t0 + (target - f0) * (t1 - t0) / (f1 - f0))


def contour_paths(
    delta_chi2: xr.DataArray, level: float, *, x: str, y: str
) -> xr.Dataset:
    """The Δχ² = ``level`` lines of a 2-D grid (boundary of the allowed region) as vertex lists.

    Contours of √Δχ² = √level are traced with contourpy (marching squares, linear
    interpolation) in the plotting variables of the two axes (ln for log axes, see
    :func:`axis_scale`), then mapped back.

    Parameters
    ----------
    delta_chi2 : 2-D Δχ² with dims ``x`` and ``y`` (NaN cells are masked, never contoured).
    level : the Δχ² threshold.
    x, y : the names of the horizontal and vertical axes.

    Returns
    -------
    xr.Dataset with dim ``vertex``: ``x``, ``y`` (in the axes' units), ``path`` (index of the
    path each vertex belongs to) and, along dim ``path``, ``closed`` (the path is a closed loop)
    and ``at_grid_edge`` (the path ends on the grid's border: the region continues beyond it).
    attrs: ``level``, ``x_name``, ``y_name``, ``x_scale``, ``y_scale``.
    """
    import contourpy

    if set(delta_chi2.dims) != {x, y}:
        raise ConfigError(f"contour_paths: need a 2-D grid with dims ({x}, {y}), "
                          f"got dims {delta_chi2.dims}")
    grid = delta_chi2.transpose(y, x)
    xs, ys = np.asarray(grid[x], dtype=float), np.asarray(grid[y], dtype=float)
    sx, sy = axis_scale(grid[x]), axis_scale(grid[y])
    z = np.asarray(grid.values, dtype=float)
    ix, iy = np.argsort(xs), np.argsort(ys)
    xs, ys, z = xs[ix], ys[iy], z[np.ix_(iy, ix)]
    tx, ty = _to_plot(xs, sx), _to_plot(ys, sy)
    root = np.sqrt(np.clip(z, 0.0, None))  # √Δχ²: exact crossings for Gaussian likelihoods
    gen = contourpy.contour_generator(
        tx, ty, np.ma.masked_invalid(root), line_type=contourpy.LineType.Separate
    )
    lines = gen.lines(np.sqrt(level))
    vx, vy, vpath, closed, at_edge = [], [], [], [], []
    for k, line in enumerate(lines):
        line = np.asarray(line, dtype=float)
        is_closed = bool(line.shape[0] > 2 and np.allclose(line[0], line[-1]))
        on_border = (
            np.isclose(line[:, 0], tx[0]) | np.isclose(line[:, 0], tx[-1])
            | np.isclose(line[:, 1], ty[0]) | np.isclose(line[:, 1], ty[-1])
        )
        vx.append(np.exp(line[:, 0]) if sx == "log" else line[:, 0])
        vy.append(np.exp(line[:, 1]) if sy == "log" else line[:, 1])
        vpath.append(np.full(line.shape[0], k))
        closed.append(is_closed)
        at_edge.append(bool(on_border.any()))
    cat = (lambda parts: np.concatenate(parts)) if lines else (lambda parts: np.zeros(0))
    return xr.Dataset(
        {
            "x": ("vertex", cat(vx), dict(grid[x].attrs)),
            "y": ("vertex", cat(vy), dict(grid[y].attrs)),
            "path": ("vertex", cat(vpath).astype(int)),
            "closed": ("path", np.array(closed, dtype=bool)),
            "at_grid_edge": ("path", np.array(at_edge, dtype=bool)),
        },
        attrs={"level": float(level), "x_name": x, "y_name": y, "x_scale": sx, "y_scale": sy},
    )


def allowed_region(
    ds: xr.Dataset,
    x: str,
    y: str,
    *,
    experiments: list[str] | None = None,
    quenching: str | dict[str, str] = "profile",
    cl: float = 0.9,
    dof: int = 2,
    nuisance: str = "profile",
    prior: str | dict[str, str] = "flat",
) -> xr.Dataset:
    """Boundary of the allowed region in the (``x``, ``y``) plane of a store, e.g. ε^u vs ε^d.

    The experiments are combined as in :func:`nubound.storage.limits.combined_chi2`, the other
    model axes profiled or marginalized, Δχ² taken against the plane's minimum, and the
    Δχ² = ``chi2.ppf(cl, dof)`` line traced (:func:`contour_paths`). attrs: those of
    :func:`contour_paths` plus model, data, experiments, quenching, cl, dof, threshold, nuisance,
    reference, chi2_min, and ``best_fit_x``/``best_fit_y`` (the grid point of the minimum).
    """
    from nubound.storage import limits as lim  # limits imports this module

    chi2 = lim.combined_chi2(ds, experiments, quenching)
    axes = lim.model_axes(chi2)
    for name in (x, y):
        if name not in axes:
            raise ConfigError(f"contour: '{name}' is not an axis; axes: {', '.join(axes)}")
    others = [a for a in axes if a not in (x, y)]
    profile = lim.reduce_axes(chi2, others, nuisance, prior=prior).compute()
    dchi2 = lim.delta_chi2(profile).transpose(y, x)
    level = lim.threshold(cl, dof)
    paths = contour_paths(dchi2, level, x=x, y=y)
    iy, ix = np.unravel_index(np.nanargmin(dchi2.values), dchi2.shape)
    paths.attrs |= lim.result_attrs(profile, cl, dof, level, nuisance, "global") | {
        "best_fit_x": float(dchi2[x][ix]), "best_fit_y": float(dchi2[y][iy])}
    return paths
