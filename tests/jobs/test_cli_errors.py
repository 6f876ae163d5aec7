"""Bad command-line values and run-time failures: one line on stderr, a non-zero exit code."""

import errno
import socket
from pathlib import Path

import pytest
import zarr

from nubound.jobs import cli
from nubound.jobs.cli import main

QUICKSTART = str(Path(__file__).parents[2] / "configs" / "quickstart.toml")


def _one_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert len(lines) == 1, captured.err
    assert captured.out == ""
    return lines[0]


@pytest.mark.parametrize("argv, message", [
    (["limits", "s.zarr", "--dof", "0"],
     "nubound: error: --dof: expected an integer >= 1 (degrees of freedom of the Δχ² "
     "threshold), got 0"),
    (["plot", "s.zarr", "-o", "x.png", "--dof", "-2"],
     "nubound: error: --dof: expected an integer >= 1 (degrees of freedom of the Δχ² "
     "threshold), got -2"),
    (["limits", "s.zarr", "--cl", "1.5"],
     "nubound: error: --cl: expected a confidence level 0 < CL < 1 (e.g. 0.9), got 1.5"),
    (["predict", "coherent_csi", "--model", "vector_universal", "--param", "coupling=1e-4"],
     "nubound: error: model vector_universal needs --param mass_MeV=VALUE [MeV]: a missing "
     "mass is not taken as 0 (a massless mediator)"),
    (["predict", "coherent_csi", "--param", "coupling=1e-4"],
     "nubound: error: --param needs --model NAME (the models: `nubound models`)"),
    (["predict", "coherent_csi", "--model", "axion", "--param", "mass_MeV=1"],
     "nubound: error: --model: got 'axion'; allowed: "),
    (["scan", QUICKSTART, "--dashboard-address", "localhost:port"],
     "nubound: error: --dashboard-address: expected HOST:PORT with PORT 0-65535 (e.g. "
     "127.0.0.1:8787, or 127.0.0.1:0 for a free port), got 'localhost:port'"),
    (["scan", QUICKSTART, "--dashboard-address", "127.0.0.1:70000"],
     "nubound: error: --dashboard-address: expected HOST:PORT with PORT 0-65535"),
])
def test_bad_values_are_one_line_errors(argv, message, capsys):
    assert main(argv) == 2
    assert _one_line(capsys).startswith(message)


def test_plot_into_a_missing_folder(tmp_path, capsys):
    target = tmp_path / "no" / "such" / "limits.png"
    assert main(["plot", "s.zarr", "-o", str(target)]) == 2
    assert _one_line(capsys) == (f"nubound: error: -o: folder {target.parent} does not exist; "
                                 "create it first")


def test_status_of_a_zarr_group_that_is_not_a_store(tmp_path, capsys):
    url = str(tmp_path / "other.zarr")
    zarr.open_group(url, mode="w", zarr_format=3).attrs["title"] = "not nubound"
    assert main(["status", url]) == 2
    assert _one_line(capsys) == (f"nubound: error: {url} is a Zarr group but not a nubound "
                                 "scan store (no spec_toml attribute or no done array)")


def test_unreachable_scheduler(capsys):
    import dask

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main(["scan", QUICKSTART, "--scheduler", address]) == 2
    assert _one_line(capsys).startswith(
        f"nubound: error: --scheduler {address}: no Dask scheduler reachable there (Timed out "
        f"trying to connect to {address} after 1 s); start one")


def test_malformed_scheduler_address(capsys):
    assert main(["scan", QUICKSTART, "--scheduler", "not an address"]) == 2
    assert _one_line(capsys).startswith(
        "nubound: error: --scheduler not an address: no Dask scheduler reachable there "
        "(missing port number in address 'not an address')")


def _failing(exc):
    def command(args):
        raise exc
    return command


def _comm_closed():
    from distributed.comm.core import CommClosedError

    return CommClosedError("in <TCP (closed) ConnectionPool.gather local=tcp://127.0.0.1:1 "
                           "remote=tcp://127.0.0.1:2>: Stream is closed")


@pytest.mark.parametrize("exc, code, message", [
    (OSError(errno.ENOSPC, "No space left on device", "/scans/q.zarr/chi2_x/c/0/1"), 1,
     "nubound: error: No space left on device: /scans/q.zarr/chi2_x/c/0/1 "
     "(--debug shows the traceback)"),
    (PermissionError(errno.EACCES, "Permission denied", "/scans/q.zarr"), 1,
     "nubound: error: Permission denied: /scans/q.zarr (--debug shows the traceback)"),
    (MemoryError(), 1, "nubound: error: out of memory; use smaller blocks ([chunks] in the "
     "spec) or fewer workers per node (--debug shows the traceback)"),
    (_comm_closed, 1, "nubound: error: lost the Dask scheduler (CommClosedError: in <TCP "
     "(closed) ConnectionPool.gather local=tcp://127.0.0.1:1 remote=tcp://127.0.0.1:2>: "
     "Stream is closed); the blocks written so far are kept: run the same command again to "
     "resume (--debug shows the traceback)"),
    (KeyboardInterrupt(), 130,
     "nubound: interrupted; a scan resumes where it stopped when run again"),
])
def test_run_time_failures_are_one_line(exc, code, message, monkeypatch, capsys):
    exc = exc() if callable(exc) and not isinstance(exc, BaseException) else exc
    monkeypatch.setattr(cli, "_cmd_models", _failing(exc))
    assert main(["models"]) == code
    assert _one_line(capsys) == message
    with pytest.raises(type(exc)):  # --debug: the traceback
        main(["--debug", "models"])


def test_a_bug_keeps_its_traceback(monkeypatch):
    monkeypatch.setattr(cli, "_cmd_models", _failing(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        main(["models"])


def test_real_os_error_names_its_path(tmp_path, capsys):
    """`nubound plot -o` into a folder nobody may write (/sys, even for root): path, one line."""
    import numpy as np
    import xarray as xr

    coupling = np.geomspace(1e-6, 1e-3, 50)
    mass = np.geomspace(1.0, 100.0, 3)
    chi2 = (coupling[None, :] / 1e-4) ** 4 + 0 * mass[:, None]
    store = str(tmp_path / "scan.zarr")
    xr.Dataset({"chi2_coherent_csi": (("mass_MeV", "coupling"), chi2)},
               coords={"mass_MeV": ("mass_MeV", mass, {"units": "MeV", "scale": "log"}),
                       "coupling": ("coupling", coupling, {"units": "1", "scale": "log"})},
               attrs={"spec_toml": '[model]\nname = "vector_universal"\n'}
               ).to_zarr(store, consolidated=False)
    assert main(["plot", store, "-o", "/sys/nubound-limits.png"]) == 1
    assert _one_line(capsys) == ("nubound: error: Permission denied: /sys/nubound-limits.png "
                                 "(--debug shows the traceback)")
