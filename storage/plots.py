"""Plots of stored limits (matplotlib, Agg backend; imported only by the ``plot`` command).

- Mediator models (a ``mass*`` axis): exclusion curves in the coupling–mass plane, log axes, one
  curve per experiment (quenching profiled), one per quenching choice of experiments that have
  choices (dashed), and the combination (thick black). A curve is the Δχ² = threshold line of
  the (mass, coupling) grid, i.e. the full boundary of the excluded region, including the
  closed islands of a destructive-interference band. On a refined store
  (``storage/levels.py``) the lines are the edges of the allowed intervals at each mass, each
  interval followed from mass to mass and the combination's (the single experiment's) allowed
  intervals shaded, so a band resolved at every mass is one continuous region.
- One-parameter models: Δχ² profiles with the threshold as a horizontal line.
- Several parameters without a mass (NSI): allowed-region contours in the plane of the first
  two axes, the others profiled.
Every figure states the CL, the dof and, for Asimov stores, ``data: asimov``; a red note in
the lower left corner counts the profiles that did not converge (``storage.fit_status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from nubound.storage import limits as lim
from nubound.storage.contours import axis_scale, contour_paths
from nubound.storage.fit_status import fit_failures

_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _curves(
    ds: xr.Dataset, experiments: Sequence[str], quenching: lim.Quenching
) -> list[tuple[str, list[str], lim.Quenching, dict]]:
    """(label, experiments, quenching, line style) of every curve of a figure."""
    curves = []
    for k, name in enumerate(experiments):
        colour = _COLOURS[k % len(_COLOURS)]
        da = ds[f"{lim.CHI2_PREFIX}{name}"]
        qdims = lim.quenching_dims(da)
        curves.append((name, [name], quenching, {"color": colour, "lw": 1.6}))
        if quenching == lim.PROFILE:
            labels = [q for d in qdims for q in lim.quenching_labels(da, d)]
            for j, q in enumerate(labels):
                style = {"color": colour, "lw": 1.0, "ls": ("--", ":", "-.")[j % 3]}
                curves.append((f"{name} ({q})", [name], {name: q}, style))
    if len(experiments) > 1:
        curves.append(("combined", list(experiments), quenching, {"color": "k", "lw": 2.4}))
    return curves


def plot_limits(
    ds: xr.Dataset,
    path: str | Path,
    *,
    experiments: Sequence[str] | None = None,
    quenching: lim.Quenching = lim.PROFILE,
    cl: float = 0.9,
    dof: int | None = None,
    nuisance: str = lim.PROFILE,
    plane: tuple[str, str] | None = None,
    reference: str = "global",
    sm: xr.Dataset | None = None,
) -> Path:
    """Draw the limits of a store into ``path`` (PNG, PDF, … by suffix); returns the path.

    ``dof`` defaults to 1 for 1-D profiles and mediator limits, 2 for 2-D allowed regions;
    ``plane`` = (x, y) picks the axes of an allowed-region plot (default: the first two);
    ``reference`` = ``"per_mass"`` takes a mediator's Δχ² against the minimum at each mass,
    ``"sm"`` against the SM point (its χ² passed as ``sm``, see
    :func:`nubound.storage.limits.sm_point_chi2`); with ``sm``, masses where the data prefer
    a BSM signal over the SM by more than the threshold are named on the figure.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(experiments) if experiments else lim.available_experiments(ds)
    curves = _curves(ds, names, quenching)
    axes = lim.model_axes(lim.experiment_chi2(ds, names[0], quenching))
    mass_axes = [a for a in axes if a.startswith("mass")]
    fig, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    if plane is not None:
        dof = dof or 2
        _draw_regions(ax, ds, curves, cl, dof, nuisance, plane[0], plane[1])
    elif mass_axes:
        dof = dof or 1
        _draw_mediator(ax, ds, curves, cl, dof, nuisance, mass_axes[0], reference, sm)
    elif len(axes) == 1:
        dof = dof or 1
        _draw_profiles(ax, ds, curves, cl, dof, nuisance, axes[0], sm if reference == "sm"
                       else None)
    else:
        dof = dof or 2
        _draw_regions(ax, ds, curves, cl, dof, nuisance, axes[0], axes[1])
    title = f"{lim.model_name(ds.attrs) or 'model'}: {cl:.0%} CL ({dof} dof)"
    if lim.data_kind(ds.attrs) == "asimov":
        title += ", data: asimov"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    failures = fit_failures(ds, names, max_blocks=0)
    if failures:  # where the χ² may lie above its minimum (``nubound status`` says where)
        ax.text(0.01, 0.01, "\n".join(f"warning: {line}" for line in failures), fontsize=6,
                color="tab:red", va="bottom", transform=ax.transAxes,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _label(coord: xr.DataArray, name: str) -> str:
    """Axis label ``name [unit]``, a unit suffix of the name (``mass_MeV``) moved to the bracket."""
    unit = coord.attrs.get("units") or coord.attrs.get("unit")
    for suffix in (unit, "MeV", "keV", "GeV"):
        if suffix and name.endswith(f"_{suffix}"):
            name, unit = name[: -len(suffix) - 1], suffix
            break
    return f"{name} [{unit}]" if unit and unit != "1" else name


def _draw_mediator(ax, ds, curves, cl, dof, nuisance, mass, reference, sm) -> None:
    level = lim.threshold(cl, dof)
    preferred = []
    shade = next(c[0] for c in curves if c[0] == "combined" or len(c[1]) == len(curves[-1][1]))
    refined = "refine_levels" in ds.attrs
    for label, exps, quenching, style in curves:
        chi2 = lim.combined_chi2(ds, exps, quenching)
        coupling = lim.find_axis([a for a in lim.model_axes(chi2) if a != mass], "coupling")
        if refined:
            _draw_intervals(ax, ds, label, exps, quenching, style, label == shade, cl=cl,
                            dof=dof, nuisance=nuisance, reference=reference, sm=sm)
            continue
        others = [a for a in lim.model_axes(chi2) if a not in (mass, coupling)]
        chi2 = lim.reduce_axes(chi2, others, nuisance).compute()
        chi2_sm = (lim.sm_point_chi2(sm, exps, quenching, keep=[mass])
                   if sm is not None else None)
        if reference == "sm":
            dchi2 = chi2 - chi2_sm
        else:
            over = [coupling] if reference == "per_mass" else None
            dchi2 = lim.delta_chi2(chi2, over=over)
        if chi2_sm is not None:
            ref_min = (chi2.min(skipna=True) if reference == "global"
                       else chi2.min(coupling, skipna=True))
            n = int(((chi2_sm - ref_min) > level).sum())
            if n:
                preferred.append(f"{label}: {n} masses")
        paths = contour_paths(dchi2, level, x=mass, y=coupling)
        for k in range(paths.sizes["path"]):
            sel = paths.path.values == k
            ax.plot(paths.x.values[sel], paths.y.values[sel], label=label if k == 0 else None,
                    **style)
        if paths.sizes["path"] == 0:
            ax.plot([], [], label=f"{label} (no boundary in grid)", **style)
    coords = ds[mass], ds[coupling]
    ax.set_xscale("log" if axis_scale(coords[0]) == "log" else "linear")
    ax.set_yscale("log" if axis_scale(coords[1]) == "log" else "linear")
    ax.set_xlim(float(coords[0].min()), float(coords[0].max()))
    ax.set_ylim(float(coords[1].min()), float(coords[1].max()))
    ax.set_xlabel(_label(coords[0], mass))
    ax.set_ylabel(_label(coords[1], coupling))
    ax.text(0.02, 0.98, "lines: boundary of the excluded region (excluded above)",
            transform=ax.transAxes, va="top", fontsize=7)
    if preferred:
        ax.text(0.02, 0.93, "data prefer BSM over the SM (SM excluded) — "
                + "; ".join(preferred), transform=ax.transAxes, va="top", fontsize=7,
                color="firebrick")


def _draw_intervals(ax, ds, label, exps, quenching, style, shade, **options) -> None:
    """A refined store: each allowed interval of :func:`~nubound.storage.limits.coupling_limits`
    followed from mass to mass as one region (its edges as lines, shaded for ``shade``), so a
    band resolved at every mass is drawn continuous even where it moves by more than its width
    between neighbouring masses (a contour of the grid would break it into one island per mass).
    """
    res = lim.coupling_limits(ds, experiments=exps, quenching=quenching, **options)
    m = np.asarray(res[res.attrs["mass_name"]].values, dtype=float)
    first = True
    for k in range(res.sizes["interval"]):
        lo = np.asarray(res.allowed_lower.values[:, k], dtype=float)
        hi = np.asarray(res.allowed_upper.values[:, k], dtype=float)
        found = np.isfinite(lo) & np.isfinite(hi)
        if shade:
            ax.fill_between(m, lo, hi, where=found, color=style["color"], alpha=0.12, lw=0)
        for edge, at_edge in ((lo, res.lower_at_edge.values[:, k]),
                              (hi, res.upper_at_edge.values[:, k])):
            line = np.where(found & ~at_edge, edge, np.nan)
            if np.isfinite(line).any():
                ax.plot(m, line, label=label if first else None, **style)
                first = False
    if first:
        ax.plot([], [], label=f"{label} (no boundary in grid)", **style)


def _draw_profiles(ax, ds, curves, cl, dof, nuisance, param, sm) -> None:
    level = lim.threshold(cl, dof)
    for label, exps, quenching, style in curves:
        chi2 = lim.combined_chi2(ds, exps, quenching).compute()
        dchi2 = (chi2 - float(lim.sm_point_chi2(sm, exps, quenching)) if sm is not None
                 else lim.delta_chi2(chi2))
        ax.plot(dchi2[param].values, dchi2.values, label=label, **style)
    ax.axhline(level, color="grey", lw=0.8, ls=":", label=f"Δχ² = {level:.2f}")
    ax.set_ylim(0.0, 4.0 * level)
    if axis_scale(ds[param]) == "log":
        ax.set_xscale("log")
    ax.set_xlabel(_label(ds[param], param))
    ax.set_ylabel("Δχ²")


def _draw_regions(ax, ds, curves, cl, dof, nuisance, x, y) -> None:
    level = lim.threshold(cl, dof)
    for label, exps, quenching, style in curves:
        chi2 = lim.combined_chi2(ds, exps, quenching)
        others = [a for a in lim.model_axes(chi2) if a not in (x, y)]
        dchi2 = lim.delta_chi2(lim.reduce_axes(chi2, others, nuisance).compute())
        paths = contour_paths(dchi2, level, x=x, y=y)
        for k in range(paths.sizes["path"]):
            sel = paths.path.values == k
            ax.plot(paths.x.values[sel], paths.y.values[sel], label=label if k == 0 else None,
                    **style)
        grid = dchi2.transpose(y, x)
        iy, ix = np.unravel_index(np.nanargmin(grid.values), grid.shape)
        ax.plot(grid[x].values[ix], grid[y].values[iy], marker="+", color=style["color"])
    ax.set_xlabel(_label(ds[x], x))
    ax.set_ylabel(_label(ds[y], y))
    ax.text(0.02, 0.98, "allowed inside the lines", transform=ax.transAxes, va="top", fontsize=7)
