"""Fixtures of the cluster tests: a real single-node SLURM, TLS certificates, the fake physics.

SLURM is started once per session by deploy/slurm/start_slurm.sh in a temporary folder, on
free ports, and stopped by PID afterwards (deploy/slurm/stop_slurm.sh). Without the Debian
packages slurm-wlm and munge (or without root) the SLURM tests are skipped with a loud reason
that ``pytest -ra`` reports; they never pass silently.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.system_tools import not_run

REPO = Path(__file__).resolve().parents[2]
DEPLOY_SLURM = REPO / "deploy" / "slurm"
REGISTRY_FILE = Path(__file__).with_name("registry_for_tests.py")
REGISTRY_REF = f"{REGISTRY_FILE}:registry"


def free_port() -> int:
    """A TCP port nothing listens on right now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def registry_ref() -> str:
    """``--registry`` value of the fake physics (FILE.py:ATTR)."""
    return REGISTRY_REF


@pytest.fixture(scope="session")
def cdp():
    """The cdp_shot module (headless chromium screenshots), imported by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("nubound_test_cdp_shot",
                                                  Path(__file__).with_name("cdp_shot.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def fake_registry():
    """The fake physics registry (tests/scanner/fake_physics.py), as the driver loads it."""
    from nubound.jobs.submit import load_registry

    return load_registry(REGISTRY_REF)


@pytest.fixture(scope="session")
def fake_spec_text(fake_registry):
    """``spec_text(store, ...)`` of the fake scan."""
    import fake_physics  # on sys.path once fake_registry ran

    return fake_physics.spec_text


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A running private SLURM (SLURM_CONF exported); its folder."""
    missing = [c for c in ("sbatch", "squeue", "scancel", "slurmctld", "slurmd", "munged")
               if shutil.which(c) is None and not Path("/usr/sbin", c).exists()]
    if missing:
        not_run("SLURM TESTS NOT RUN: missing " + ", ".join(missing) + " — install with "
                    "`apt-get install -y --no-install-recommends slurm-wlm munge`")
    if os.geteuid() != 0:
        not_run("SLURM TESTS NOT RUN: starting munged/slurmctld/slurmd needs root")
    folder = tmp_path_factory.mktemp("slurm")
    env = dict(os.environ, NUBOUND_SLURM_DIR=str(folder), SLURMCTLD_PORT=str(free_port()),
               SLURMD_PORT=str(free_port()))
    proc = subprocess.run([str(DEPLOY_SLURM / "start_slurm.sh")], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    if proc.returncode != 0:
        subprocess.run([str(DEPLOY_SLURM / "stop_slurm.sh")], env=env, check=False, timeout=60)
        pytest.fail(f"start_slurm.sh failed:\n{proc.stdout}\n{proc.stderr}")
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(folder / "slurm.conf")
    try:
        yield folder
    finally:
        subprocess.run([str(DEPLOY_SLURM / "stop_slurm.sh")], env=env, check=False, timeout=60)
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """Self-signed CA and a certificate for 127.0.0.1/localhost signed by it (openssl CLI)."""
    if shutil.which("openssl") is None:
        not_run("TLS TESTS NOT RUN: the openssl command is missing (apt-get install openssl)")
    d = tmp_path_factory.mktemp("tls")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=nubound-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.csr",
        "-subj", "/CN=localhost")
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "cert.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "ext.cnf")
    return {"ca_file": str(d / "ca.pem"), "cert_file": str(d / "cert.pem"),
            "key_file": str(d / "key.pem")}


@pytest.fixture(autouse=True)
def _restore_dashboard_tls():
    """A TLS profile's cluster sets the dashboard certificate process-wide (so that dashboard
    links say https); put the setting back after each test."""
    import dask
    import distributed  # noqa: F401  (its config must exist before it is set and restored)

    keys = ("cert", "key", "ca-file")
    with dask.config.set({f"distributed.scheduler.dashboard.tls.{k}": None for k in keys}):
        yield


@pytest.fixture(autouse=True)
def _collect_leftover_sockets():
    """Collect, after each cluster test, the sockets that distributed's closed clients and
    SLURMCluster leave to the garbage collector (seen after the SLURMCluster scan); left
    alone, their ResourceWarning fires in whatever test the collector next runs in and fails
    it under filterwarnings = error, far from its cause."""
    yield
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
