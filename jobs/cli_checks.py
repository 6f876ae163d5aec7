"""Command-line values checked before work starts, and run-time failures turned into one line.

Each check raises :class:`~nubound.physics.errors.ConfigError` naming the option and what it
accepts; :func:`one_line_failure` is what ``nubound``'s ``main`` prints for an ``OSError``
(with its path), a ``MemoryError`` or a lost Dask scheduler instead of a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from nubound.physics.errors import ConfigError


def host_port(text: str, option: str) -> str:
    """Check ``HOST:PORT`` (``:PORT`` = every default host Dask picks; port 0 = a free one).

    >>> host_port("127.0.0.1:0", "--dashboard-address")
    '127.0.0.1:0'
    """
    host, sep, port = str(text).rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or any(
            c.isspace() or c in "/@?#" for c in host):
        raise ConfigError(f"{option}: expected HOST:PORT with PORT 0-65535 (e.g. "
                          f"127.0.0.1:8787, or 127.0.0.1:0 for a free port), got '{text}'")
    return text


def connect_scheduler(address: str):
    """A ``distributed.Client`` of the scheduler at ``address``, or a one-line ConfigError."""
    from distributed import Client

    try:
        return Client(address)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"--scheduler {address}: no Dask scheduler reachable there ({exc}); "
                          "start one (README, 'An existing scheduler') or correct the "
                          "address") from None


def positive_dof(dof: int | None) -> int | None:
    """``--dof`` is None (the default) or an integer >= 1."""
    if dof is not None and dof < 1:
        raise ConfigError(f"--dof: expected an integer >= 1 (degrees of freedom of the Δχ² "
                          f"threshold), got {dof}")
    return dof


def confidence_level(cl: float) -> float:
    """``--cl`` strictly between 0 and 1."""
    if not 0 < cl < 1:
        raise ConfigError(f"--cl: expected a confidence level 0 < CL < 1 (e.g. 0.9), got {cl}")
    return cl


def output_file(path: str, option: str = "-o") -> Path:
    """An output file whose folder exists."""
    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise ConfigError(f"{option}: folder {folder} does not exist; create it first")
    return Path(path)


def model_parameters(model: str | None, params: dict) -> None:
    """``--param`` needs ``--model``, and a mediator's mass must be given (0 is no default)."""
    if params and model is None:
        raise ConfigError("--param needs --model NAME (the models: `nubound models`)")
    if model is None:
        return
    from nubound.physics.models import list_models

    models = {m["name"]: m for m in list_models()}
    if model not in models:
        raise ConfigError(f"--model: got '{model}'; allowed: {', '.join(models)}")
    missing = [p for p in models[model]["parameters"]
               if p["name"].startswith("mass") and p["name"] not in params]
    if missing:
        need = ", ".join(f"--param {p['name']}=VALUE [{p['unit']}]" for p in missing)
        raise ConfigError(f"model {model} needs {need}: a missing mass is not taken as 0 "
                          "(a massless mediator)")


def _lost_scheduler(exc: BaseException) -> bool:
    """True for the errors a client sees when its scheduler goes away."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    from distributed.comm.core import CommClosedError

    names = {"FutureCancelledError", "CancelledError", "StreamClosedError"}
    return isinstance(exc, CommClosedError) or type(exc).__name__ in names


def one_line_failure(exc: BaseException) -> str | None:
    """The one-line message for a run-time failure, or None for a bug (keep its traceback)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if _lost_scheduler(exc):
        return (f"lost the Dask scheduler ({type(exc).__name__}: {first}); the blocks written "
                "so far are kept: run the same command again to resume")
    if isinstance(exc, MemoryError):
        return ("out of memory; use smaller blocks ([chunks] in the spec) or fewer workers per "
                "node")
    if isinstance(exc, OSError):
        paths = [p for p in (exc.filename, getattr(exc, "filename2", None)) if p]
        what = exc.strerror or first
        return f"{what}: {' -> '.join(map(str, paths))}" if paths else what
    return None


class OneLineDaskLogs(logging.Filter):
    """Log filter: a Dask (``distributed.*``) record's traceback becomes one line (its last
    exception), so that a lost scheduler does not print pages before nubound's own line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("distributed") and record.exc_info:
            exc = record.exc_info[1]
            text = record.getMessage().strip()
            last = f"{type(exc).__name__}: {exc}".rstrip(": ")
            record.msg = "; ".join(filter(None, [text, last]))
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
