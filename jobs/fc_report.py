"""The Wilks-vs-Feldman–Cousins tables of docs/statistics-fc.md, regenerated from calibrated
stores.

For every calibration target of a store (``storage.calibration``), one table: per grid line
(each mass for mediators, Δχ² against the minimum at that mass; the one line of a
one-parameter grid) the calibrated points with
their critical value t_c and ±1σ Monte Carlo band, and the allowed set with Wilks' threshold
and with the interpolated t_c, computed by the same functions as ``nubound limits --method
wilks|fc`` (every allowed interval is listed, so islands show as ``∪``). The page's text
between ``<!-- fc-tables:NAME:begin -->`` and ``<!-- fc-tables:NAME:end -->`` is replaced,
NAME the store's file stem; nothing in the tables is typed by hand.

    python -m nubound.jobs.fc_report STORE [STORE ...] [--docs docs/statistics-fc.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nubound.jobs.validation_report import (
    LABELS,
    QUENCHING_LABELS,
    fmt,
    intervals_text,
    replace_between,
)


def target_label(experiments: list[str], quenching: str) -> str:
    """``Dresden-II (YBe) + COHERENT CsI`` from a target's experiments and quenching.

    Examples
    --------
    >>> target_label(["dresden_ii", "coherent_csi"], "dresden_ii=ybe")
    'Dresden-II (YBe) + COHERENT CsI'
    >>> target_label(["dresden_ii"], "profile")
    'Dresden-II (quenching profiled)'
    """
    from nubound.jobs.limits_cmd import parse_quenching

    parsed = parse_quenching(quenching)
    parts = []
    for e in experiments:
        choice = parsed.get(e, "profile") if isinstance(parsed, dict) else parsed
        label = LABELS.get(e, e)
        if e == "dresden_ii":
            label += (" (quenching profiled)" if choice == "profile"
                      else f" ({QUENCHING_LABELS.get(choice, choice)})")
        parts.append(label)
    return " + ".join(parts)


def _allowed(result, k: int | None, names: tuple[str, str, str, str]) -> str:
    rows = [np.asarray(result[n].values, dtype=float if i < 2 else bool)
            for i, n in enumerate(names)]
    if k is not None:
        rows = [r[k] for r in rows]
    return intervals_text(*rows)


def target_table(url: str, ds, key: str, cl: float) -> tuple[str, str]:
    """(heading, markdown table) of one calibration target of the store at ``url``."""
    from nubound.jobs.limits_cmd import compute_limits, parse_quenching
    from nubound.physics.statistics.neyman import critical_value, critical_value_band
    from nubound.storage import limits as lim
    from nubound.storage.calibration import critical_grid, point_rows_done, read_calibration

    cal = read_calibration(url, key)
    attrs = cal["attrs"]
    experiments, quenching = list(attrs["experiments"]), parse_quenching(attrs["quenching"])
    axes, line = list(attrs["axes"]), attrs["line_axis"]
    done = point_rows_done(cal)
    points, t = cal["points"][done], cal["t_toys"][done]
    chi2 = lim.combined_chi2(ds, experiments, quenching)
    critical, _ = critical_grid(url, key, chi2, cl)
    heading = (f"{target_label(experiments, attrs['quenching'])}: {int(done.sum())} points "
               f"× {int(attrs['n_toys'])} toys")
    tc = critical_value(t, cl) if len(t) else np.zeros(0)
    lo, hi = critical_value_band(t, cl) if len(t) else (np.zeros(0), np.zeros(0))
    k_line = axes.index(line)
    x = np.asarray(ds[line].values, dtype=float)

    def calibrated(mask: np.ndarray) -> str:
        return "; ".join(f"{fmt(x[p[k_line]])} → {tc[i]:.2f} [{lo[i]:.2f}, {hi[i]:.2f}]"
                         for i, p in enumerate(points) if mask[i]) or "none"

    kwargs = dict(experiments=experiments, quenching=quenching, cl=cl,
                  reference="global" if len(axes) == 1 else "per_mass")
    wilks = compute_limits(ds, **kwargs)  # Δχ² against the minimum along the line, as t
    fc = compute_limits(ds, critical=critical, **kwargs)
    if len(axes) == 1:
        names = ("lower", "upper", "lower_at_edge", "upper_at_edge")
        table = [f"| calibrated points: {line} → t_c (±1σ) | Wilks allowed | FC allowed |",
                 "|---|---|---|",
                 f"| {calibrated(np.ones(len(points), bool))} | {_allowed(wilks, 0, names)} | "
                 f"{_allowed(fc, 0, names)} |"]
        return heading, "\n".join(table)
    mass = next(a for a in axes if a != line)
    k_mass = axes.index(mass)
    names = ("allowed_lower", "allowed_upper", "lower_at_edge", "upper_at_edge")
    table = [f"| {mass} | calibrated points: {line} → t_c (±1σ) | Wilks allowed | "
             "FC allowed |", "|---|---|---|---|"]
    for i, m in enumerate(np.asarray(ds[mass].values, dtype=float)):
        table.append(f"| {m:g} | {calibrated(points[:, k_mass] == i)} | "
                     f"{_allowed(wilks, i, names)} | {_allowed(fc, i, names)} |")
    return heading, "\n".join(table)


def store_tables(url: str) -> str:
    """Every calibrated target of the store, each under a heading line."""
    from nubound.storage import limits as lim
    from nubound.storage import store as st
    from nubound.storage.calibration import calibration_keys

    ds = st.open_store(url)
    cl = lim.confidence_level(ds.attrs)
    out = []
    for key in calibration_keys(url):
        heading, table = target_table(url, ds, key, cl)
        out.append(f"**{heading}** (`{key}`)\n\n{table}\n")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the marked table sections of the FC results page."""
    parser = argparse.ArgumentParser(prog="python -m nubound.jobs.fc_report",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("stores", nargs="+", type=Path)
    parser.add_argument("--docs", type=Path, default=Path("docs/statistics-fc.md"))
    args = parser.parse_args(argv)
    text = args.docs.read_text(encoding="utf-8")
    for store in args.stores:
        name = store.name.removesuffix(".zarr")
        text = replace_between(text, f"<!-- fc-tables:{name}:begin -->",
                               f"<!-- fc-tables:{name}:end -->", store_tables(str(store)))
    args.docs.write_text(text, encoding="utf-8")
    print(f"wrote the FC tables of {len(args.stores)} store(s) into {args.docs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
