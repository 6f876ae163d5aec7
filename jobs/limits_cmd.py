"""``nubound limits`` and ``nubound plot``: limits of a χ² store as a table, JSON, CSV or a figure.

The formatting helpers work on the results of :mod:`nubound.storage.limits`:
:func:`limits_table`, :func:`limits_json` (keys that scripts rely on: ``model``, ``cl``,
``experiments``, ``quenching``, ``limits`` = [{``mass_MeV``, ``coupling_upper``,
``at_grid_edge``, …}] for mediator models, ``intervals`` for the others, ``contour`` with
``--contour X,Y``) and
:func:`limits_csv`. NaN (a limit outside the grid, or an incomplete column) becomes ``null`` in
JSON and an empty field in CSV. Heavy imports (xarray, matplotlib) happen inside the commands.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import xarray as xr


def parse_quenching(text: str) -> str | dict[str, str]:
    """``profile``, one choice name, or ``exp=choice,exp2=profile`` (per experiment)."""
    if "=" not in text:
        return text.strip()
    out = {}
    for item in text.split(","):
        exp, _, choice = item.partition("=")
        out[exp.strip()] = choice.strip()
    return out


def parse_experiments(text: str | None) -> list[str] | None:
    """A comma-separated experiment list (``None``: every experiment of the store)."""
    if not text:
        return None
    return [e.strip() for e in text.split(",") if e.strip()]


def parse_contour(text: str | None) -> tuple[str, str] | None:
    """``X,Y`` (two axis names) for ``--contour``."""
    if not text:
        return None
    names = [n.strip() for n in text.split(",")]
    if len(names) != 2 or not all(names):
        from nubound.physics.errors import ConfigError

        raise ConfigError(f"--contour expects two axis names X,Y, got '{text}'")
    return names[0], names[1]


def open_store(path: str) -> xr.Dataset:
    """Open a χ² store lazily (dask-backed); a clear error when it is not a Zarr store."""
    from nubound.physics.errors import DataFileError
    from nubound.storage.levels import finest_dataset

    try:
        return finest_dataset(path)  # a refined store: its finest data at each point
    except (FileNotFoundError, KeyError, ValueError, OSError) as exc:
        raise DataFileError(f"STORE: cannot open '{path}' as a Zarr store ({exc})") from None


def _stored_cl(ds: xr.Dataset) -> float:
    from nubound.storage.limits import confidence_level

    return confidence_level(ds.attrs)


def sm_dataset(ds: xr.Dataset) -> xr.Dataset:
    """The χ² of the store's experiments at the SM point of its spec (every non-mass axis 0),
    laid out like the store (same variables, dims and quenching coordinates), for
    ``--reference sm`` (see `docs/statistics.md#reference-minimum`). Evaluates the physics:
    one row of the grid, with the store's data kind (observed or Asimov)."""
    import numpy as np
    import xarray as xr

    from nubound.physics.errors import ConfigError
    from nubound.scanner.reference import sm_chi2, sm_spec
    from nubound.scanner.spec import parse_spec

    if not ds.attrs.get("spec_toml"):
        raise ConfigError("reference: 'sm' needs the scan spec stored in the store (spec_toml)")
    spec = parse_spec(str(ds.attrs["spec_toml"]))
    grid = sm_spec(spec)
    axes = {a.name: (a.name, np.asarray(a.values, dtype=float), dict(ds[a.name].attrs))
            for a in grid.axes}
    out = {}
    for exp, values in sm_chi2(spec).items():
        var = ds[f"chi2_{exp}"]
        coords = {d: axes[d] if d in axes else var[d] for d in var.dims}
        out[f"chi2_{exp}"] = xr.DataArray(values, dims=var.dims, coords=coords,
                                          attrs=dict(var.attrs))
    return xr.Dataset(out, attrs=dict(ds.attrs))


def compute_limits(
    ds: xr.Dataset,
    *,
    experiments: list[str] | None = None,
    quenching: str | dict[str, str] = "profile",
    cl: float = 0.9,
    dof: int | None = None,
    nuisance: str = "profile",
    reference: str = "global",
    contour: tuple[str, str] | None = None,
    sm: xr.Dataset | None = None,
    critical: xr.DataArray | None = None,
) -> xr.Dataset:
    """Coupling limits per mass for mediator stores (a ``mass*`` axis), intervals otherwise;
    with ``contour = (x, y)`` the allowed region's boundary in that plane (default 2 dof).
    ``sm``: the χ² at the SM point (:func:`sm_dataset`), needed for ``reference="sm"``."""
    from nubound.storage import limits as lim

    if contour is not None:
        from nubound.storage.contours import allowed_region

        x, y = contour
        return allowed_region(ds, x, y, experiments=experiments, quenching=quenching, cl=cl,
                              dof=dof or 2, nuisance=nuisance)
    names = experiments or lim.available_experiments(ds)
    axes = lim.model_axes(lim.experiment_chi2(ds, names[0], quenching)) if names else []
    common = dict(experiments=experiments, quenching=quenching, cl=cl, dof=dof or 1,
                  nuisance=nuisance, reference=reference, sm=sm, critical=critical)
    if critical is not None:  # FC: t = χ² − min along the calibrated grid line
        common["reference"] = "per_mass" if any(a.startswith("mass") for a in axes) else "global"
    if any(a.startswith("mass") for a in axes):
        return lim.limit_precision(ds, lim.coupling_limits(ds, **common))
    return lim.parameter_intervals(ds, **common)


def _num(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _header(result: xr.Dataset) -> dict:
    a = result.attrs
    return {
        "model": a.get("model", ""),
        "data": a.get("data", ""),
        "cl": float(a["cl"]),
        "dof": int(a["dof"]),
        "threshold": float(a["threshold"]),
        "experiments": list(a.get("experiments", [])),
        "quenching": a.get("quenching", ""),
        "nuisance": a.get("nuisance", ""),
        "reference": a.get("reference", ""),
        "method": a.get("method", "wilks"),
        **({"sm_delta_chi2": _num(a["sm_delta_chi2"]),
            "bsm_preferred": bool(a["bsm_preferred"])} if "sm_delta_chi2" in a else {}),
    } | {k: v for k, v in a.items() if k.startswith("fc_")}


def _intervals(result: xr.Dataset, row: dict) -> list[dict]:
    out = []
    for k in range(result.sizes["interval"]):
        lo = _num(result["allowed_lower" if "allowed_lower" in result else "lower"][row | {
            "interval": k}])
        if lo is None:
            continue
        up_name = "allowed_upper" if "allowed_upper" in result else "upper"
        out.append({
            "lower": lo,
            "upper": _num(result[up_name][row | {"interval": k}]),
            "lower_at_edge": bool(result["lower_at_edge"][row | {"interval": k}]),
            "upper_at_edge": bool(result["upper_at_edge"][row | {"interval": k}]),
        })
    return out


def limits_json(result: xr.Dataset) -> dict:
    """JSON-ready dict of a limits result (see the module docstring for the keys)."""
    out = _header(result)
    if "path" in result:
        out["contour"] = {
            "x": result.attrs["x_name"], "y": result.attrs["y_name"],
            "best_fit": {result.attrs["x_name"]: result.attrs["best_fit_x"],
                         result.attrs["y_name"]: result.attrs["best_fit_y"]},
            "paths": [
                {"x": result.x.values[result.path.values == k].tolist(),
                 "y": result.y.values[result.path.values == k].tolist(),
                 "closed": bool(result.closed[k]), "at_grid_edge": bool(result.at_grid_edge[k])}
                for k in range(result.sizes["path"])
            ],
        }
    elif "coupling_upper" in result:
        mass = result.attrs.get("mass_name", "mass_MeV")
        out["coupling"] = result.attrs.get("coupling_name", "coupling")
        out["limits"] = [
            {
                "mass_MeV": float(result[mass][i]),
                "coupling_upper": _num(result.coupling_upper[i]),
                "at_grid_edge": bool(result.at_grid_edge[i]),
                "status": str(result.status.values[i]),
                "coupling_first_crossing": _num(result.coupling_first_crossing[i]),
                **({"sm_delta_chi2": _num(result.sm_delta_chi2[i]),
                    "bsm_preferred": bool(result.bsm_preferred[i])}
                   if "sm_delta_chi2" in result else {}),
                **({"coupling_upper_precision": _num(result.coupling_upper_precision[i])}
                   if "coupling_upper_precision" in result else {}),
                "allowed_intervals": _intervals(result, {mass: i}),
            }
            for i in range(result.sizes[mass])
        ]
    else:
        out["intervals"] = {
            str(p): {
                "best_fit": _num(result.best_fit[i]),
                "complete": bool(result.complete[i]),
                "allowed": _intervals(result, {"parameter": i}),
            }
            for i, p in enumerate(result.parameter.values)
        }
    return out


def limits_csv(result: xr.Dataset) -> str:
    """CSV text: one row per mass (mediators) or per allowed interval (other models)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    data = limits_json(result)

    def cell(v: Any) -> Any:
        return "" if v is None else v

    if "contour" in data:
        c = data["contour"]
        writer.writerow(["path", c["x"], c["y"], "closed", "at_grid_edge"])
        for k, p in enumerate(c["paths"]):
            for xv, yv in zip(p["x"], p["y"], strict=True):
                writer.writerow([k, xv, yv, p["closed"], p["at_grid_edge"]])
    elif "limits" in data:
        writer.writerow(["mass_MeV", "coupling_upper", "at_grid_edge", "status",
                         "coupling_first_crossing", "n_allowed_intervals",
                         "coupling_upper_precision"])
        for row in data["limits"]:
            writer.writerow([row["mass_MeV"], cell(row["coupling_upper"]), row["at_grid_edge"],
                             row["status"], cell(row["coupling_first_crossing"]),
                             len(row["allowed_intervals"]),
                             cell(row.get("coupling_upper_precision"))])
    else:
        writer.writerow(["parameter", "interval", "lower", "upper", "lower_at_edge",
                         "upper_at_edge", "best_fit"])
        for name, res in data["intervals"].items():
            for k, iv in enumerate(res["allowed"]):
                writer.writerow([name, k, iv["lower"], iv["upper"], iv["lower_at_edge"],
                                 iv["upper_at_edge"], cell(res["best_fit"])])
    return buf.getvalue()


def limits_table(result: xr.Dataset) -> str:
    """Human-readable table of a limits result, with the statistical choices in the header."""
    data = limits_json(result)
    lines = [
        f"model: {data['model'] or '?'}   data: {data['data'] or '?'}   "
        f"experiments: {', '.join(data['experiments'])}   quenching: {data['quenching']}",
        f"{data['cl']:.0%} CL, {data['dof']} dof: Δχ² = {data['threshold']:.3f} "
        f"(reference minimum: {data['reference']}, other axes: {data['nuisance']})",
    ]

    def fmt(iv: dict) -> str:
        lo = ("<" if iv["lower_at_edge"] else "") + f"{iv['lower']:.4g}"
        hi = f"{iv['upper']:.4g}" + ("<" if iv["upper_at_edge"] else "")
        return f"[{lo}, {hi}]"

    if "contour" in data:
        c = data["contour"]
        lines.append(f"best fit ({c['x']}, {c['y']}) = "
                     f"({c['best_fit'][c['x']]:.4g}, {c['best_fit'][c['y']]:.4g}); "
                     f"{len(c['paths'])} boundary path(s) of the allowed region:")
        for k, p in enumerate(c["paths"]):
            kind = "closed" if p["closed"] else "open"
            lines.append(f"  path {k}: {len(p['x'])} vertices, {kind}"
                         + (", reaches the grid edge" if p["at_grid_edge"] else "")
                         + f"; {c['x']} in [{min(p['x']):.4g}, {max(p['x']):.4g}], "
                         f"{c['y']} in [{min(p['y']):.4g}, {max(p['y']):.4g}]")
    elif "limits" in data:
        lines.append(f"{'mass_MeV':>12}  {data['coupling'] + '_upper':>16}  {'precision':>9}  "
                     f"{'status':<11}  allowed intervals")
        for row in data["limits"]:
            g, p = row["coupling_upper"], row.get("coupling_upper_precision")
            lines.append(f"{row['mass_MeV']:12.5g}  {'—' if g is None else f'{g:.5g}':>16}  "
                         f"{'—' if p is None else f'{p:.2g}':>9}  {row['status']:<11}  "
                         + " ".join(fmt(iv) for iv in row["allowed_intervals"]))
    else:
        for name, res in data["intervals"].items():
            best = res["best_fit"]
            allowed = " ∪ ".join(fmt(iv) for iv in res["allowed"]) or (
                "none" if res["complete"] else "incomplete grid")
            lines.append(f"{name}: best fit {best:.4g}; allowed {allowed}")
    lines.append("('<' marks an interval end at the grid's edge: the region continues beyond)")
    lines.extend(bsm_preference_notes(data))
    if data["method"] == "fc":
        from nubound.jobs.calibrate_cmd import fc_summary_lines

        lines += fc_summary_lines(data)
    return "\n".join(lines)


def bsm_preference_notes(data: dict) -> list[str]:
    """Lines saying where the data prefer a BSM signal over the SM by more than the threshold
    (χ²_SM − the reference minimum > Δχ² threshold), from :func:`limits_json`'s dict."""
    level = data["threshold"]
    if "limits" in data:
        rows = [r for r in data["limits"] if r.get("bsm_preferred")]
        if not rows:
            return []
        worst = max(rows, key=lambda r: r["sm_delta_chi2"])
        masses = ", ".join(f"{r['mass_MeV']:.4g}" for r in rows)
        return [f"note: the data prefer a BSM signal over the SM by more than Δχ² = {level:.3f} "
                f"at {len(rows)} of {len(data['limits'])} masses (MeV: {masses}); up to "
                f"Δχ² = {worst['sm_delta_chi2']:.3g} at {worst['mass_MeV']:.4g} MeV. There the "
                "SM itself is excluded at this CL: 'bsm_preferred' is that, not a missing "
                "allowed coupling."]
    if data.get("bsm_preferred"):
        return [f"note: the data prefer a BSM point over the SM by Δχ² = "
                f"{data['sm_delta_chi2']:.3g} > {level:.3f}: the SM is excluded at this CL."]
    return []


def limits_for_store(ds: xr.Dataset, args: argparse.Namespace) -> xr.Dataset:
    """The result of ``nubound limits`` for parsed ``args``: ``--cl`` defaults to the store's
    ``confidence_level``; the SM point is evaluated for ``--reference sm`` and, to explain them,
    where no coupling is allowed at some mass (``below_grid`` → ``bsm_preferred`` when the
    SM itself is excluded)."""
    kwargs = dict(
        experiments=parse_experiments(args.experiments),
        quenching=parse_quenching(args.quenching),
        cl=args.cl if args.cl is not None else _stored_cl(ds), dof=args.dof,
        nuisance=args.nuisance, reference=args.reference, contour=parse_contour(args.contour),
    )
    info: dict = {}
    if getattr(args, "method", "wilks") == "fc":  # t = χ² − min along the grid line
        from nubound.jobs.calibrate_cmd import fc_critical
        from nubound.physics.errors import ConfigError

        if args.contour or args.reference == "sm":
            raise ConfigError("--method fc: contours and --reference sm are not calibrated "
                              "(t = χ² − min along the grid line); use --method wilks")
        kwargs["critical"], info = fc_critical(args.store, ds, kwargs["experiments"],
                                               kwargs["quenching"], kwargs["cl"])
    sm = sm_dataset(ds) if args.reference == "sm" else None
    result = compute_limits(ds, sm=sm, **kwargs)
    if sm is None and "status" in result and "below_grid" in set(result.status.values):
        result = compute_limits(ds, sm=sm_dataset(ds), **kwargs)
    result.attrs.update(info)
    return result


def _check_statistics(args: argparse.Namespace) -> None:
    from nubound.jobs.cli_checks import confidence_level, positive_dof

    positive_dof(args.dof)
    if args.cl is not None:
        confidence_level(args.cl)


def _cmd_limits(args: argparse.Namespace) -> int:
    from nubound.storage.verify import damage_reported

    _check_statistics(args)
    with damage_reported(args.store):  # a chunk that does not decode: name block and repair
        ds = open_store(args.store)
        result = limits_for_store(ds, args)
        _warn_edges(result)
        _warn_fit_failures(ds, parse_experiments(args.experiments))
    if args.format == "json":
        print(json.dumps(limits_json(result), indent=2))
    elif args.format == "csv":
        print(limits_csv(result), end="")
    else:
        print(limits_table(result))
    return 0


def _warn_edges(result: xr.Dataset) -> None:
    """On stderr: how many limits lie outside the grid or on uncomputed cells, and the fix."""
    if "status" not in result:
        return
    status = [str(v) for v in result.status.values]
    for kind, fix in (("above_grid", "extend the coupling axis upwards"),
                      ("below_grid", "extend the coupling axis downwards"),
                      ("bsm_preferred", "the data prefer a BSM signal: the SM is excluded "
                       "there (see the note; --reference sm shows the limit against the SM)"),
                      ("incomplete", "rerun the scan: it resumes the missing blocks")):
        n = status.count(kind)
        if n:
            print(f"nubound limits: {n} of {len(status)} masses {kind} (no limit quoted): {fix}",
                  file=sys.stderr)


def _warn_fit_failures(ds: xr.Dataset, experiments: list[str] | None) -> None:
    """On stderr: where profiles of the store did not converge (``storage.fit_status``)."""
    from nubound.storage.fit_status import fit_failures

    for line in fit_failures(ds, experiments):
        print(f"nubound limits: warning: {line}", file=sys.stderr)


def _cmd_plot(args: argparse.Namespace) -> int:
    from nubound.jobs.cli_checks import output_file
    from nubound.storage.plots import plot_limits
    from nubound.storage.verify import damage_reported

    _check_statistics(args)
    output_file(args.output)
    with damage_reported(args.store):
        ds = open_store(args.store)
        if args.method == "fc":
            from nubound.storage.fc_plots import plot_wilks_and_fc

            plot_wilks_and_fc(ds, args.store, args.output,
                              experiments=parse_experiments(args.experiments),
                              quenching=parse_quenching(args.quenching),
                              cl=args.cl if args.cl is not None else _stored_cl(ds))
            return 0
        plot_limits(ds, args.output, experiments=parse_experiments(args.experiments),
                    quenching=parse_quenching(args.quenching),
                    cl=args.cl if args.cl is not None else _stored_cl(ds),
                    dof=args.dof, nuisance=args.nuisance, plane=parse_contour(args.contour),
                    reference=args.reference,
                    sm=sm_dataset(ds) if args.reference == "sm" else None)
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", help="path or URL of the Zarr χ² store")
    p.add_argument("--experiments", help="comma-separated (default: all in the store)")
    p.add_argument("--quenching", default="profile",
                   help="profile (min over choices), a choice name, or exp=choice,...")
    p.add_argument("--cl", type=float, default=None,
                   help="confidence level (default: the store's confidence_level)")
    p.add_argument("--dof", type=int, default=None,
                   help="dof of the Δχ² threshold chi2.ppf(cl, dof) (default 1; 2 for 2-D plots)")
    p.add_argument("--nuisance", default="profile", choices=["profile", "marginalize"],
                   help="treatment of axes not shown (marginalize: flat prior)")
    p.add_argument("--reference", default="global", choices=["global", "per_mass", "sm"],
                   help="minimum for Δχ²: global, per mass (raster scan), or the SM point "
                   "at each mass (every coupling 0)")
    p.add_argument("--method", default="wilks", choices=["wilks", "fc"],
                   help="thresholds: Wilks (chi2.ppf) or Feldman–Cousins critical values from "
                   "`nubound calibrate` (Δχ² per grid line; the plot shows both)")


def add_limit_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``limits`` and ``plot`` to the ``nubound`` sub-command parsers."""
    limits = subparsers.add_parser("limits", help="limits from a χ² store")
    _common(limits)
    limits.add_argument("--format", default="table", choices=["table", "json", "csv"])
    limits.add_argument("--contour", metavar="X,Y",
                        help="boundary of the allowed region in the X-Y plane (default 2 dof)")
    limits.set_defaults(func=_cmd_limits)
    plot = subparsers.add_parser("plot", help="plot the limits of a χ² store")
    _common(plot)
    plot.add_argument("-o", "--output", required=True, help="output file (.png, .pdf)")
    plot.add_argument("--contour", metavar="X,Y",
                      help="allowed region in the X-Y plane (default: the first two axes)")
    plot.set_defaults(func=_cmd_plot)
