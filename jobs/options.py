"""Command-line options shared by every command that runs a scan: one definition each.

``nubound scan``, ``nubound submit`` and the driver job (``python -m nubound.jobs.submit
drive``) take the same scan options; ``submit`` forwards them to the driver job.
"""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An integer >= 1 (argparse ``type``), else a one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def add_cluster_option(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    """Add ``--cluster PROFILE`` (a packaged profile name or a .toml file)."""
    p.add_argument("--cluster", required=required, default=None, metavar="PROFILE",
                   help="cluster profile: a packaged name (`nubound cluster list`) or a .toml "
                   "file" + ("" if required else "; default: a LocalCluster on 127.0.0.1"))


def add_registry_option(p: argparse.ArgumentParser) -> None:
    """Add the hidden ``--registry MODULE:ATTR`` (plugins and tests: another physics)."""
    p.add_argument("--registry", metavar="MODULE:ATTR", help=argparse.SUPPRESS)


def add_scan_options(p: argparse.ArgumentParser, *, cluster_required: bool) -> None:
    """Add the scan options: CONFIG, --cluster, --store, --live-view, --max-in-flight."""
    p.add_argument("config", help="scan spec (TOML), e.g. configs/quickstart.toml")
    add_cluster_option(p, required=cluster_required)
    p.add_argument("--store", help="store path or fsspec URL (default: the spec's, placed under "
                   "the profile's store_root when relative)")
    p.add_argument("--live-view", metavar="HOST:PORT", help="serve the live view of the scan "
                   "(e.g. 127.0.0.1:8050)")
    p.add_argument("--max-in-flight", type=positive_int, default=None, metavar="N",
                   help="blocks on the scheduler at a time (default: grows with the cluster to "
                   "keep every worker busy; see the README's 'Run on a cluster')")
    add_registry_option(p)


def scan_option_args(args: argparse.Namespace) -> list[str]:
    """The scan options of ``args`` as command-line words (what ``submit`` forwards)."""
    out: list[str] = []
    for name in ("store", "live_view", "max_in_flight", "registry"):
        value = getattr(args, name, None)
        if value is not None:
            out += ["--" + name.replace("_", "-"), str(value)]
    return out
