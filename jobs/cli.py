"""The ``nubound`` command line (argparse; heavy imports happen inside the commands)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from importlib.metadata import version

from nubound.jobs.calibrate_cmd import add_calibrate_commands
from nubound.jobs.cli_checks import OneLineDaskLogs, model_parameters, one_line_failure
from nubound.jobs.limits_cmd import add_limit_commands
from nubound.jobs.live_view import add_live_view_command
from nubound.jobs.scan import add_scan_commands
from nubound.jobs.submit import add_submit_commands
from nubound.jobs.verify_cmd import add_verify_commands

log = logging.getLogger(__name__)


def _cmd_data_verify(args: argparse.Namespace) -> int:
    from nubound.physics.data import verify_all

    rows = verify_all()
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=2))
    else:
        width = max(len(r.key) for r in rows)
        print(f"{'file'.ljust(width)}  status  detail")
        for r in rows:
            print(f"{r.key.ljust(width)}  {'OK' if r.ok else 'FAIL':6}  {r.message}")
    bad = [r for r in rows if not r.ok]
    print(f"{len(rows) - len(bad)}/{len(rows)} files OK", file=sys.stderr)
    return 1 if bad else 0


def _parse_params(items: list[str]) -> dict[str, float | str]:
    """NAME=VALUE pairs; numbers become floats, other values (model options) stay strings."""
    from nubound.physics.errors import ConfigError

    out: dict[str, float | str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param expects NAME=VALUE, got '{item}'")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            out[key.strip()] = value.strip()
    return out


def _cmd_models(args: argparse.Namespace) -> int:
    from nubound.physics.models import list_models

    models = list_models()
    if args.json:
        print(json.dumps(models, indent=2))
        return 0
    for m in models:
        print(f"{m['name']}: {m['description']}")
        for p in m["parameters"]:
            lo = "-inf" if p["minimum"] is None else p["minimum"]
            hi = "inf" if p["maximum"] is None else p["maximum"]
            print(f"    {p['name']:14s} [{p['unit']}]  range [{lo}, {hi}]  {p['description']}")
        for o in m["options"]:
            print(f"    option {o['name']}: {' | '.join(o['choices'])} (default {o['default']})")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from nubound.physics.experiments import EXPERIMENTS, get_experiment
    from nubound.physics.summary import predict_summary

    names = list(EXPERIMENTS) if args.experiment == "all" else [args.experiment]
    params = _parse_params(args.param or [])
    model_parameters(args.model, params)
    results = {}
    for name in names:
        exp = get_experiment(name)
        results[name] = predict_summary(
            exp, quenching=args.quenching if len(names) == 1 else None,
            model=args.model, params=params,
        )
    out = results[names[0]] if len(names) == 1 else results
    if args.json:
        print(json.dumps(out, indent=2, default=float))
    else:
        for name, res in results.items():
            print(f"== {name}")
            for key, value in res.items():
                print(f"  {key:36s} {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``nubound`` command."""
    parser = argparse.ArgumentParser(
        prog="nubound", description="Bounds on new neutrino physics from CEvNS and ν–e data."
    )
    parser.add_argument("--version", action="version", version=f"nubound {version('nubound')}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show its full traceback instead of one line")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="input data files")
    data = data.add_subparsers(dest="data_cmd", required=True)
    verify = data.add_parser("verify", help="check every registered data file's sha256")
    verify.add_argument("--json", action="store_true", help="JSON on stdout")
    verify.set_defaults(func=_cmd_data_verify)

    predict = sub.add_parser("predict", help="SM (or one BSM point) predictions")
    predict.add_argument(
        "experiment", help="dresden_ii, coherent_csi, coherent_ar, xenonnt_b8, or all")
    predict.add_argument("--quenching", help="quenching choice (default: the experiment's)")
    predict.add_argument("--model", default=None, help="BSM model name (see `nubound models`)")
    predict.add_argument("--param", action="append", metavar="NAME=VALUE", help="model parameter")
    predict.add_argument("--json", action="store_true", help="JSON on stdout")
    predict.set_defaults(func=_cmd_predict)

    models = sub.add_parser("models", help="list the BSM models, their parameters and units")
    models.add_argument("--json", action="store_true", help="JSON on stdout")
    models.set_defaults(func=_cmd_models)
    add_scan_commands(sub)
    add_submit_commands(sub)
    add_limit_commands(sub)
    add_verify_commands(sub)
    add_calibrate_commands(sub)
    add_live_view_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nubound`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr,
    )
    if not args.verbose:  # distributed logs every worker start at INFO; read at dask import
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    if not (args.verbose or args.debug):  # Dask's tracebacks in the log: one line each
        for handler in logging.getLogger().handlers:
            if type(handler) is logging.StreamHandler:
                handler.addFilter(OneLineDaskLogs())
    from nubound.physics.errors import NuboundError

    try:
        return args.func(args)
    except NuboundError as exc:
        if args.debug:
            raise
        print(f"nubound: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("nubound: interrupted; a scan resumes where it stopped when run again",
              file=sys.stderr)
        return 130
    except Exception as exc:  # run-time failures (disk, memory, scheduler): one line
        message = one_line_failure(exc)
        if message is None or args.debug:
            raise
        print(f"nubound: error: {message} (--debug shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
