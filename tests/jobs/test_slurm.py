"""A real single-node SLURM (conftest.slurm): SLURMCluster scans, `nubound submit`, cancel/resume.

Reference: the same fake scan run on an in-process LocalCluster. Stores must agree bit for bit
(the scanner's values are deterministic), whatever ran them and however often they were cut.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from nubound.jobs import submit as sub
from nubound.physics.errors import ConfigError
from nubound.scanner.run import run_scan
from nubound.scanner.spec import parse_spec
from nubound.storage.store import done_map, open_store, read_attrs

pytestmark = pytest.mark.slurm

PROFILE = """
profile_version = 1
kind = "slurm"
store_root = "{root}"
[network]
interface = "lo"
dashboard_address = "127.0.0.1:0"
[workers]
cores = 1
memory = "1GiB"
walltime = "00:10:00"
queue = "debug"
log_directory = "{root}/logs"
local_directory = "{root}/dask-tmp"
job_extra_directives = ["--no-requeue"]
death_timeout = 8
[scaling]
jobs = 1
[driver]
cores = 1
memory = "1GiB"
walltime = "00:10:00"
queue = "debug"
log_directory = "{root}/logs"
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory, fake_spec_text):
    root = tmp_path_factory.mktemp("slurm-scan")
    (root / "prof.toml").write_text(PROFILE.format(root=root))
    (root / "spec.toml").write_text(fake_spec_text("s.zarr"))
    return root


@pytest.fixture(scope="module")
def reference(files, fake_registry, fake_spec_text):
    """The fake scan on an in-process LocalCluster."""
    from distributed import Client, LocalCluster

    url = str(files / "reference.zarr")
    spec = parse_spec(fake_spec_text(url), registry=fake_registry)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        run_scan(spec, client, registry=fake_registry, progress=None)
    return url


def assert_same_store(url: str, reference: str) -> None:
    got, ref = open_store(url), open_store(reference)
    assert done_map(url).all()
    names = sorted(v for v in ref.data_vars if v.startswith("chi2_"))
    assert names == sorted(v for v in got.data_vars if v.startswith("chi2_"))
    for name in names:
        np.testing.assert_array_equal(got[name].values, ref[name].values)
        assert np.isfinite(got[name].values).all()
    def spec_lines(u: str) -> list[str]:
        return [ln for ln in read_attrs(u)["spec_toml"].splitlines() if not ln.startswith("store")]

    assert spec_lines(url) == spec_lines(reference)


def squeue(*args: str) -> list[str]:
    out = subprocess.run(["squeue", "-h", *args], capture_output=True, text=True, check=True)
    return [ln for ln in out.stdout.splitlines() if ln.strip()]


def wait_queue_empty(timeout_s: float = 120) -> None:
    t0 = time.monotonic()
    while squeue():
        assert time.monotonic() - t0 < timeout_s, f"jobs still queued: {squeue()}"
        time.sleep(0.3)


def submit_cli(files: Path, registry_ref: str, capsys) -> dict[str, str]:
    p = argparse.ArgumentParser()
    sub.add_submit_commands(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(["submit", str(files / "spec.toml"), "--cluster",
                         str(files / "prof.toml"), "--registry", registry_ref])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    job = re.search(r"submitted job (\d+)", out).group(1)
    store = re.search(r"store:\s+(\S+)", out).group(1)
    log = re.search(r"log:\s+(\S+)", out).group(1)
    assert f"nubound status {store}" in out and f"squeue -j {job}" in out
    return {"job": job, "store": store, "log": log}


def driver_summary(log: str) -> tuple[int, int, int]:
    """(blocks computed, blocks done, blocks total) from the driver's last line."""
    m = re.search(r"nubound driver: (\d+) blocks computed, (\d+)/(\d+) done", Path(log).read_text())
    assert m, Path(log).read_text()[-3000:]
    return tuple(int(g) for g in m.groups())


def test_scan_through_slurmcluster_equals_local_scan(slurm, files, fake_registry, reference):
    logs = files / "logs"
    before = set(logs.glob("*.err")) if logs.exists() else set()
    result = sub.run_driver(files / "spec.toml", cluster=str(files / "prof.toml"),
                            store=str(files / "direct.zarr"), registry=fake_registry)
    assert result.blocks_computed == result.blocks_total == 6
    assert result.dashboard_link.startswith("http://127.0.0.1:")
    assert read_attrs(result.url)["dashboard_link"] == result.dashboard_link
    assert set(logs.glob("dask-worker-*.err")) - before  # the workers were SLURM jobs
    assert_same_store(result.url, reference)
    wait_queue_empty()


def test_submit_runs_end_to_end_through_sbatch(slurm, files, registry_ref, reference, capsys):
    job = submit_cli(files, registry_ref, capsys)
    assert job["store"] == str(files / "s.zarr")
    wait_queue_empty()
    assert driver_summary(job["log"]) == (6, 6, 6)
    assert_same_store(job["store"], reference)


def test_cancelled_scan_resumes_on_second_submit(slurm, files, registry_ref, reference, capsys,
                                                 monkeypatch):
    config = files / "spec.toml"
    config.write_text(config.read_text().replace('"s.zarr"', '"resume.zarr"'))
    monkeypatch.setenv("NUBOUND_TEST_BLOCK_SLEEP_S", "0.5")  # ~2 s per block on one worker
    first = submit_cli(files, registry_ref, capsys)
    t0 = time.monotonic()
    while not (Path(first["store"]).exists() and done_map(first["store"]).sum() >= 1):
        assert time.monotonic() - t0 < 120, "no block landed"
        time.sleep(0.2)
    with pytest.raises(ConfigError, match=f"already runs as job {first['job']}"):
        sub.submit(config, str(files / "prof.toml"), registry=registry_ref)
    subprocess.run(["scancel", first["job"]], check=True)
    wait_queue_empty()  # the orphaned worker job exits after its death timeout
    done_mid = int(done_map(first["store"]).sum())
    assert 1 <= done_mid < 6
    monkeypatch.setenv("NUBOUND_TEST_BLOCK_SLEEP_S", "0")
    second = submit_cli(files, registry_ref, capsys)
    assert second["store"] == first["store"] and second["job"] != first["job"]
    wait_queue_empty()
    assert driver_summary(second["log"]) == (6 - done_mid, 6, 6)
    assert_same_store(second["store"], reference)
