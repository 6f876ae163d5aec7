"""A scheduler killed under a running `nubound scan --scheduler`: one line, exit code 1, and
the blocks written so far stay (intact) for the resume."""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from nubound.storage.store import done_map
from nubound.storage.verify import verify_store

ROOT = Path(__file__).parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_killed_scheduler_is_one_line_and_keeps_the_blocks(tmp_path):
    store = tmp_path / "q.zarr"
    spec = (ROOT / "configs" / "quickstart.toml").read_text()
    spec = spec.replace("mass_MeV = 8\n", "mass_MeV = 1\n")  # 48 blocks of 64 points
    assert "mass_MeV = 1\ncoupling = 64" in spec
    (tmp_path / "q.toml").write_text(spec)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    py = sys.executable
    scheduler = subprocess.Popen(
        [py, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
         str(port), "--dashboard-address", "127.0.0.1:0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers = subprocess.Popen(
        [py, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1",
         "--no-dashboard", "--nworkers", "1", "--nthreads", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    scan = None
    try:
        scan = subprocess.Popen(
            [str(Path(py).with_name("nubound")), "scan", str(tmp_path / "q.toml"), "--store",
             str(store), "--scheduler", address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        while not (store / "done" / "c").exists() or done_map(str(store)).sum() < 2:
            assert scan.poll() is None, scan.stderr.read()[-3000:]
            assert time.monotonic() - t0 < 240, "no block done"
            time.sleep(0.2)
        scheduler.send_signal(signal.SIGKILL)
        out, err = scan.communicate(timeout=120)
    finally:
        for p in (scheduler, workers, scan):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(30)
    assert scan.returncode == 1, err[-3000:]
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip()]
    assert "Traceback" not in err, err[-3000:]
    assert lines[-1].startswith("nubound: error: lost the Dask scheduler (")
    assert lines[-1].endswith("); the blocks written so far are kept: run the same command "
                              "again to resume (--debug shows the traceback)")
    done = done_map(str(store))
    assert 2 <= done.sum() < done.size
    assert verify_store(str(store)) == []
