"""No wildcard listeners: a local `nubound scan` and the README's "existing scheduler" recipe
bind every socket (scheduler, workers, nannies, dashboards) to 127.0.0.1."""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).parents[2]
WILDCARDS = {"0.0.0.0", "::", ""}
LOOPBACK = {"127.0.0.1", "::1"}


def listeners(pid: int) -> set[tuple[str, int, str]]:
    """(address, port, process name) of every listening TCP socket of a process tree."""
    out = set()
    try:
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return out
    for proc in tree:
        try:
            conns = proc.net_connections(kind="inet")
            name = " ".join(proc.cmdline()[1:3])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        out |= {(c.laddr.ip, c.laddr.port, name) for c in conns
                if c.status == psutil.CONN_LISTEN}
    return out


def _watch(procs, until, timeout_s=240.0) -> set:
    seen: set = set()
    t0 = time.monotonic()
    while not until(seen):
        for p in procs:
            assert p.poll() is None, p.stderr.read().decode()[-3000:]
            seen |= listeners(p.pid)
        assert time.monotonic() - t0 < timeout_s, f"not reached; listeners seen: {seen}"
        time.sleep(0.2)
    return seen


def _stop(procs):
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
        p.stderr.close()


def test_local_scan_listens_on_loopback_only(tmp_path):
    store = tmp_path / "q.zarr"
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("nubound")), "scan", str(ROOT / "configs" /
         "quickstart.toml"), "--store", str(store), "--workers", "2",
         "--dashboard-address", "127.0.0.1:0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        # scheduler, its dashboard, and each of the 2 workers and 2 nannies
        seen = _watch([proc], lambda s: len({port for _, port, _ in s}) >= 6)
        time.sleep(2.0)  # late listeners too
        seen |= listeners(proc.pid)
    finally:
        _stop([proc])
    wild = {s for s in seen if s[0] in WILDCARDS or s[0] not in LOOPBACK}
    assert wild == set(), wild


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readme_existing_scheduler_recipe_listens_on_loopback_only():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### 5. An existing scheduler"):]
    section = section[:section.index("### 6.")]
    commands = re.findall(r"^python -m distributed\.cli\.\S+ .*?(?= &$)", section, re.M)
    assert len(commands) == 2, commands  # the scheduler and the workers
    scheduler_port, dashboard_port = _free_port(), _free_port()
    procs = []
    try:
        for command in commands:
            command = command.replace("8786", str(scheduler_port)).replace(
                "8787", str(dashboard_port))
            argv = shlex.split(command)
            argv[0] = sys.executable
            procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, start_new_session=True))
            time.sleep(1.0)
        # scheduler + its dashboard + 2 workers + 2 nannies (+ worker dashboards if any)
        seen = _watch(procs, lambda s: len({port for _, port, _ in s}) >= 6, timeout_s=120)
        time.sleep(2.0)  # late listeners (worker dashboards) too
        for p in procs:
            seen |= listeners(p.pid)
    finally:
        _stop(procs)
    assert scheduler_port in {port for _, port, _ in seen}
    wild = {s for s in seen if s[0] in WILDCARDS or s[0] not in LOOPBACK}
    assert wild == set(), wild
