"""``nubound calibrate STORE``: Feldman–Cousins critical values from toys, on Dask; and the
``--method fc`` helpers of ``nubound limits`` / ``nubound plot`` (docs/feldman-cousins.md).
"""

from __future__ import annotations

import argparse
import json
import sys


def _parse_band(text: str) -> tuple[float, float]:
    from nubound.physics.errors import ConfigError

    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"--band expects LO,HI (factors of the Wilks threshold), got '{text}'"
                          ) from None
    if not 0 <= lo < hi:
        raise ConfigError(f"--band: need 0 ≤ LO < HI, got {lo}, {hi}")
    return lo, hi


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from distributed import Client

    from nubound.jobs.submit import load_registry
    from nubound.physics.errors import ConfigError
    from nubound.scanner.calibrate import parse_target, run_calibration

    targets = [parse_target(t) for t in args.target] if args.target else None
    band = _parse_band(args.band)
    registry = load_registry(args.registry)
    if args.cluster and (args.scheduler or args.workers):
        raise ConfigError("give either --cluster PROFILE or --scheduler ADDRESS / --workers N, "
                          "not both")
    session = cluster = None
    if args.cluster:  # the profile's cluster, made as `nubound scan --cluster` makes it
        from nubound.jobs.clusters import client_from_profile

        session = client_from_profile(args.cluster)
        client = session.client
    elif args.scheduler:
        client = Client(args.scheduler)
    else:
        from nubound.jobs.clusters import local_cluster

        cluster = local_cluster(args.workers, dashboard_address=args.dashboard_address)
        client = Client(cluster)
    try:
        result = run_calibration(args.store, client, targets=targets, n_toys=args.toys,
                                 cls=tuple(args.cl or (0.9,)), region=args.region, band=band,
                                 points_per_block=args.points_per_block,
                                 max_per_line=args.max_per_line, registry=registry,
                                 max_in_flight=args.max_in_flight, threads_max=args.workers)
    finally:
        if session is not None:
            session.close()
        else:
            client.close()
        if cluster is not None:
            cluster.close()
    if args.format == "json":
        print(json.dumps({"store": result.url, "targets": result.targets,
                          "blocks_computed": result.blocks_computed,
                          "toys_computed": result.toys_computed, "wall_s": result.wall_s,
                          "task_s": result.task_s}, indent=2))
        return 0
    cls = args.cl or [0.9]
    print(f"{result.url}: {result.blocks_computed} blocks computed now "
          f"({result.toys_computed} toys in {result.wall_s:.1f} s wall)")
    for key, s in result.targets.items():
        ranges = ", ".join(f"{c:.0%}: t_c in [{lo:.3g}, {hi:.3g}]" for c, lo, hi in
                           zip(cls, s["critical_min"], s["critical_max"], strict=False))
        print(f"  {key}: {s['points']} points × {s['toys_per_point']} toys; {ranges or '-'}")
    return 0


def fc_critical(store: str, ds, experiments: list[str] | None, quenching, cl: float):
    """Critical values over the grid of the limits' combination and what was calibrated."""
    from nubound.storage import limits as lim
    from nubound.storage.calibration import critical_grid, target_key

    names = experiments or lim.available_experiments(ds)
    chi2 = lim.combined_chi2(ds, names, quenching)
    return critical_grid(store, target_key(names, quenching), chi2, cl)


def fc_summary_lines(info: dict) -> list[str]:
    """Lines for the limits table: how many toys and which points were calibrated."""
    return [f"Feldman–Cousins ({info['fc_target']}): {info['fc_points_calibrated']} of "
            f"{info['fc_points_planned']} planned points calibrated on "
            f"{info['fc_lines_calibrated']} grid lines of {info['fc_line_axis']}, "
            f"{info['fc_toys_per_point']} toys each; critical values interpolated between "
            "them, Wilks' threshold on uncalibrated lines"]


def add_calibrate_commands(subparsers) -> None:
    """Add ``calibrate`` to the ``nubound`` sub-command parsers."""
    from nubound.jobs.options import add_cluster_option, add_registry_option

    p = subparsers.add_parser("calibrate", help="Feldman–Cousins critical values from toys")
    p.add_argument("store", help="scan store (path or fsspec URL) with observed data")
    p.add_argument("--toys", type=int, default=1000, help="toys per calibrated point (1000)")
    p.add_argument("--cl", type=float, action="append",
                   help="confidence level(s) whose thresholds pick the points (default 0.9)")
    p.add_argument("--region", default="near-limit", choices=["near-limit", "all"],
                   help="near-limit: Wilks Δχ² within --band × threshold; all: every point")
    p.add_argument("--band", default="0.5,2.0", metavar="LO,HI",
                   help="near-limit band in units of chi2.ppf(cl, 1) (default 0.5,2.0)")
    p.add_argument("--target", action="append", metavar="EXP[,EXP...][@QUENCHING]",
                   help="experiments combined, quenching profiled unless given (repeatable; "
                   "default: each experiment and all combined)")
    p.add_argument("--max-per-line", type=int, default=None, metavar="N",
                   help="near-limit: at most N points per grid line, those closest to a "
                   "threshold (default: all in the band)")
    p.add_argument("--points-per-block", type=int, default=1,
                   help="calibrated points per Dask task (default 1)")
    add_cluster_option(p)
    p.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes")
    p.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler")
    p.add_argument("--max-in-flight", type=int, default=None, help="tasks on the scheduler")
    p.add_argument("--dashboard-address", default="127.0.0.1:0",
                   help="LocalCluster dashboard address (default: a free port)")
    p.add_argument("--format", default="table", choices=["table", "json"])
    add_registry_option(p)
    p.set_defaults(func=_cmd_calibrate)


if __name__ == "__main__":
    from nubound.jobs.cli import main

    sys.exit(main())
