"""``nubound verify STORE``: read every chunk of a scan store, list the damaged blocks."""

from __future__ import annotations

import argparse
import json
import sys


def _cmd_verify(args: argparse.Namespace) -> int:
    from nubound.physics.errors import ConfigError
    from nubound.storage.store import normalize_url, store_exists
    from nubound.storage.verify import describe_damage, verify_store

    url = normalize_url(args.store)
    if not store_exists(url):
        raise ConfigError(f"no scan store at {url}")
    bad = verify_store(url)
    if args.json:
        print(json.dumps([{"array": b.array, "chunk": list(b.chunk),
                           "block": None if b.block is None else list(b.block),
                           "file": b.file, "reason": b.reason} for b in bad], indent=2))
    elif bad:
        print(f"{'block':<14}  {'array':<24}  reason / file")
        for b in bad:
            block = "-" if b.block is None else str(b.block)
            print(f"{block:<14}  {b.array:<24}  {b.reason}: {b.file}")
    if bad:
        print(f"nubound verify: {describe_damage(url, bad)}", file=sys.stderr)
        return 1
    print(f"nubound verify: store {url} is intact (every chunk decodes and matches its "
          "checksum; every block marked done has its chi2 chunks)", file=sys.stderr)
    return 0


def add_verify_commands(subparsers) -> None:
    """Add ``verify`` to the ``nubound`` sub-command parsers."""
    verify = subparsers.add_parser(
        "verify", help="read every chunk of a scan store; list damaged blocks and their files")
    verify.add_argument("store", help="store path or fsspec URL")
    verify.add_argument("--json", action="store_true", help="JSON list of damaged chunks")
    verify.set_defaults(func=_cmd_verify)
