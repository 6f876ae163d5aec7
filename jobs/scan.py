"""``nubound scan CONFIG`` and ``nubound status STORE`` (dask and zarr imported lazily).

Wire into ``jobs/cli.py``'s ``build_parser`` with ``add_scan_commands(sub)``. Also runnable on
its own: ``python -m nubound.jobs.scan scan configs/quickstart.toml``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from nubound.jobs.options import add_scan_options, positive_int

log = logging.getLogger(__name__)


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{n} B"
        size /= 1024
    return f"{n} B"


def _cmd_scan(args: argparse.Namespace) -> int:
    from distributed import Client

    from nubound.jobs.cli_checks import connect_scheduler, host_port
    from nubound.jobs.clusters import local_cluster
    from nubound.jobs.dashboard.monitor import DashboardMonitor
    from nubound.jobs.submit import load_registry
    from nubound.scanner.run import run_scan
    from nubound.scanner.spec import load_spec

    registry = load_registry(args.registry)
    spec = load_spec(args.config, registry=registry)  # every spec error before a cluster starts
    if args.cluster not in (None, "local") or args.live_view:
        if args.scheduler:
            from nubound.physics.errors import ConfigError

            raise ConfigError("give either --cluster PROFILE or --scheduler ADDRESS, not both")
        from nubound.jobs.submit import run_driver

        result = run_driver(args.config, cluster=args.cluster or "local", store=args.store,
                            registry=registry, live_view=args.live_view,
                            max_in_flight=args.max_in_flight)
        _print_result(result)
        return 0
    if args.scheduler:
        client = connect_scheduler(args.scheduler)
        cluster = None
    else:
        host_port(args.dashboard_address, "--dashboard-address")
        cluster = local_cluster(args.workers, dashboard_address=args.dashboard_address)
        client = Client(cluster)
    try:
        result = run_scan(spec, client, url=args.store, registry=registry,
                          max_in_flight=args.max_in_flight, threads_max=args.workers,
                          monitor=DashboardMonitor(client))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    _print_result(result)
    return 0


def _print_result(result) -> None:
    done = result.blocks_done_before + result.blocks_computed + result.blocks_skipped
    print(f"{result.url}: {done}/{result.blocks_total} blocks done "
          f"({result.blocks_computed} computed now, "
          f"{result.points_computed / max(result.wall_s, 1e-9):.0f} points/s)")
    for level in getattr(result, "levels", ()):
        print(f"  refine level {level.level}: {level.points_computed} points computed now "
              f"({level.points_planned} planned, {level.blocks_planned} blocks)")


def format_status(status, fit_lines: Sequence[str] = ()) -> str:
    """Text of ``nubound status``: blocks done/total, the spec summary and the store size.

    The summary is read from the stored TOML without re-validating it, so a store written
    with another catalogue of models still reports. ``fit_lines``: where profiles did not
    converge (``storage.fit_status.fit_failures``).
    """
    from nubound.storage.spec_attrs import stored_spec

    spec = stored_spec(status.attrs)
    model = spec.get("model", {})
    fixed = ", ".join(f"{k}={v}" for k, v in model.get("parameters", {}).items())
    chunks = spec.get("chunks", {})
    lines = [
        f"store:       {status.url}",
        f"blocks done: {status.blocks_done}/{status.blocks_total}"
        f" ({100 * status.blocks_done / max(status.blocks_total, 1):.1f}%)",
        f"size:        {_human_bytes(status.size_bytes)}",
        f"model:       {model.get('name')}" + (f" ({fixed})" if fixed else ""),
    ]
    for axis in spec.get("axes", []):
        if "values" in axis:
            vals = axis["values"]
            grid = f"values {min(vals):g} .. {max(vals):g}, {len(vals)} points"
        else:
            grid = f"{axis['scale']} {axis['start']:g} .. {axis['stop']:g}, {axis['n']} points"
        lines.append(f"axis:        {axis['name']} [{axis['unit']}] {grid}, "
                     f"{chunks.get(axis['name'])} per block")
    quenching = spec.get("quenching", {})
    for exp in spec.get("experiments", []):
        choices = quenching.get(exp)
        lines.append(f"experiment:  {exp}"
                     + (f" (quenching {', '.join(choices)})" if choices else ""))
    attrs = status.attrs
    lines += [
        f"data:        {spec.get('data')}, confidence level {spec.get('confidence_level')}",
        f"created:     {attrs.get('created_utc', '?')} by nubound "
        f"{attrs.get('nubound_version', '?')}",
        f"dashboard:   {attrs.get('dashboard_link') or '-'} (last run)",
    ]
    lines += [f"fit status:  {line}" for line in fit_lines] or (
        ["fit status:  every profile converged"] if status.blocks_done else [])
    return "\n".join(lines)


def _cmd_status(args: argparse.Namespace) -> int:
    from nubound.storage.fit_status import fit_failures
    from nubound.storage.levels import level_status
    from nubound.storage.store import open_store, store_status

    status = store_status(args.store)
    print(format_status(status, fit_failures(open_store(status.url))))
    for row in level_status(status.url):
        state = (f"{row['blocks_done']}/{row['blocks_todo']} blocks" if row["planned"]
                 else "not planned yet")
        print(f"refine:      level {row['level']}: {state}, {row['points']} points")
    return 0


def add_scan_commands(subparsers) -> None:
    """Add ``scan`` and ``status`` to the ``nubound`` sub-command parsers."""
    scan = subparsers.add_parser("scan", help="run or resume a scan from a TOML spec")
    add_scan_options(scan, cluster_required=False)
    scan.add_argument("--scheduler", metavar="ADDRESS",
                      help="use an existing scheduler instead, e.g. tcp://10.0.0.1:8786")
    scan.add_argument("--workers", type=positive_int, default=None,
                      help="LocalCluster worker processes (default: one per core)")
    scan.add_argument("--dashboard-address", default="127.0.0.1:8787",
                      help="LocalCluster dashboard address (':0' for a free port)")
    scan.set_defaults(func=_cmd_scan)
    status = subparsers.add_parser("status", help="progress and spec of a scan store")
    status.add_argument("store", help="store path or fsspec URL")
    status.set_defaults(func=_cmd_status)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: the ``nubound`` command line (``python -m nubound.jobs.scan``)."""
    from nubound.jobs.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
