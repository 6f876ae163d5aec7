"""A real single-node SLURM (conftest.slurm): SLURMCluster scans, `nubound submit`, cancel/resume.

Reference: the same fake scan run on an in-process LocalCluster. Stores must agree bit for bit
(the scanner's values are deterministic), whatever ran them and however often they were cut.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from pathlib import Path

import dask_jobqueue  # noqa: F401 - it installs signal handlers on import: main thread only
import numpy as np
import pytest

from nubound.jobs import submit as sub
from nubound.physics.errors import ConfigError
from nubound.scanner.run import run_scan
from nubound.scanner.spec import parse_spec
from nubound.storage.store import done_map, open_store, read_attrs
from tests.real_specs import vector_universal_reference

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


# ---- scale-out: an adaptive cluster grows to its maximum, lost workers, orphans, sockets ----

ADAPTIVE = PROFILE.replace("jobs = 1", "minimum_jobs = 0\nmaximum_jobs = 2")

# A real-physics spec (three experiments, three Dresden-II quenching choices): 48 blocks of
# 3072 couplings (1.5e5 points), ≈ 40 s of work on one core, so that the few seconds a worker
# job needs to start and load the experiments do not decide the shares.
def real_spec(store: str) -> str:
    return vector_universal_reference(store, n_mass=48, n_coupling=3072, chunks=(1, 3072))


def worker_job_ids() -> list[str]:
    """Ids of the queued or running dask-jobqueue worker jobs."""
    return [ln.split()[0] for ln in squeue("-o", "%i %j") if ln.split()[1] == "dask-worker"]


def job_processes(job_ids: set[str]) -> list:
    """The processes that run inside the given SLURM jobs (from their environment)."""
    import psutil

    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("SLURM_JOB_ID") in job_ids:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def wildcard_listeners(pids: set[int]) -> list:
    """Listening TCP sockets of ``pids`` bound to every interface (0.0.0.0 or ::)."""
    import psutil

    return [c for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN
            and c.pid in pids and c.laddr.ip in ("0.0.0.0", "::")]


@pytest.fixture(scope="module")
def real_reference(tmp_path_factory):
    """The real-physics spec scanned on an in-process LocalCluster."""
    from distributed import Client, LocalCluster

    root = tmp_path_factory.mktemp("real-scan")
    url = str(root / "reference.zarr")
    spec = parse_spec(real_spec(url))
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        run_scan(spec, client, progress=None)
    return root, url


def test_adaptive_cluster_starts_both_jobs_and_both_compute(slurm, real_reference):
    """minimum_jobs = 0, maximum_jobs = 2, one core per job on the 2-core node: the scan's work
    must make the cluster grow to both jobs, each computes >= 25 % of the blocks, no process of
    the scan listens on a wildcard address, and the store equals a local run bit for bit."""
    import threading

    root, reference_url = real_reference
    (root / "adaptive.toml").write_text(ADAPTIVE.format(root=root))
    (root / "spec.toml").write_text(real_spec("adaptive.zarr"))
    seen_jobs: set[str] = set()
    wildcards: list = []
    box: dict = {}

    def drive() -> None:
        box["result"] = sub.run_driver(root / "spec.toml", cluster=str(root / "adaptive.toml"))

    thread = threading.Thread(target=drive)
    thread.start()
    while thread.is_alive():
        jobs = set(worker_job_ids())
        seen_jobs |= jobs
        pids = {p.pid for p in job_processes(jobs)} | {os.getpid()}
        wildcards += wildcard_listeners(pids)
        time.sleep(0.5)
    thread.join()
    result = box["result"]
    assert len(seen_jobs) == 2, f"worker jobs seen: {sorted(seen_jobs)}"
    assert not wildcards, f"listening on every interface: {wildcards}"
    per_worker: dict[str, int] = {}
    for report in result.reports:
        if not report.skipped:
            per_worker[report.worker] = per_worker.get(report.worker, 0) + 1
    assert len(per_worker) == 2, per_worker
    shares = sorted(n / result.blocks_computed for n in per_worker.values())
    print(f"adaptive SLURM scan: jobs {sorted(seen_jobs)}, blocks per worker {per_worker}, "
          f"{result.points_computed / result.wall_s:.0f} points/s")
    assert shares[0] >= 0.25, per_worker
    assert result.blocks_computed == result.blocks_total == 48
    assert_same_store(result.url, reference_url)
    wait_queue_empty()


def test_scancel_of_a_worker_job_midscan_loses_nothing(slurm, files, registry_ref, reference,
                                                       monkeypatch):
    """One of two worker jobs is cancelled mid-scan: Dask reschedules its blocks on the other,
    the scan finishes without a rerun and the store equals the reference bit for bit."""
    import threading

    (files / "two.toml").write_text(PROFILE.format(root=files).replace("jobs = 1", "jobs = 2"))
    monkeypatch.setenv("NUBOUND_TEST_BLOCK_SLEEP_S", "0.5")
    slowed = sub.load_registry(registry_ref)  # built now: the session's registry has no sleep
    assert slowed.sleep_s == 0.5
    url = str(files / "worker-cancel.zarr")
    box: dict = {}

    def drive() -> None:
        box["result"] = sub.run_driver(files / "spec.toml", cluster=str(files / "two.toml"),
                                       store=url, registry=slowed)

    thread = threading.Thread(target=drive)
    thread.start()
    t0 = time.monotonic()
    while not (Path(url).exists() and done_map(url).sum() >= 1):
        assert thread.is_alive() and time.monotonic() - t0 < 180, "no block landed"
        time.sleep(0.2)
    jobs = worker_job_ids()
    assert jobs, "no worker job running"
    subprocess.run(["scancel", jobs[0]], check=True)
    done_at_cancel = int(done_map(url).sum())
    thread.join(timeout=300)
    assert not thread.is_alive()
    result = box["result"]
    assert done_at_cancel < result.blocks_total
    assert result.blocks_done_before == 0  # one run, no rerun
    assert result.blocks_computed + result.blocks_skipped == result.blocks_total
    assert_same_store(url, reference)
    wait_queue_empty()


def test_status_grows_while_the_submitted_driver_runs(slurm, files, registry_ref, reference,
                                                      capsys, monkeypatch, fake_spec_text):
    (files / "spec.toml").write_text(fake_spec_text("status.zarr"))
    monkeypatch.setenv("NUBOUND_TEST_BLOCK_SLEEP_S", "0.3")
    job = submit_cli(files, registry_ref, capsys)
    from nubound.jobs.scan import format_status
    from nubound.storage.store import store_status

    seen: list[int] = []
    t0 = time.monotonic()
    while squeue("-j", job["job"]):
        assert time.monotonic() - t0 < 300, "driver did not finish"
        if Path(job["store"]).exists():
            try:
                text = format_status(store_status(job["store"]))
            except Exception:  # noqa: BLE001 - the store is being created
                text = ""
            m = re.search(r"blocks done: (\d+)/6", text)
            if m and (not seen or int(m.group(1)) != seen[-1]):
                seen.append(int(m.group(1)))
        time.sleep(0.2)
    wait_queue_empty()
    assert seen == sorted(seen) and len(seen) >= 3, seen  # several values, growing
    assert driver_summary(job["log"]) == (6, 6, 6)
    assert_same_store(job["store"], reference)


def test_scancel_of_the_driver_cancels_its_worker_jobs(slurm, files, registry_ref, capsys,
                                                       monkeypatch, fake_spec_text):
    """Worker jobs would otherwise wait for their death timeout (300 s here) after the driver's
    scheduler is gone; the driver script cancels them instead."""
    (files / "prof.toml").write_text(
        PROFILE.format(root=files).replace("death_timeout = 8", "death_timeout = 300"))
    (files / "spec.toml").write_text(fake_spec_text("orphans.zarr"))
    monkeypatch.setenv("NUBOUND_TEST_BLOCK_SLEEP_S", "1.0")
    job = submit_cli(files, registry_ref, capsys)
    t0 = time.monotonic()
    while not worker_job_ids() or not (Path(job["store"]).exists()
                                       and done_map(job["store"]).sum() >= 1):
        assert time.monotonic() - t0 < 180, "the driver's worker job did not start computing"
        time.sleep(0.2)
    subprocess.run(["scancel", job["job"]], check=True)
    t1 = time.monotonic()
    while worker_job_ids():
        assert time.monotonic() - t1 < 30, f"worker jobs left behind: {worker_job_ids()}"
        time.sleep(0.3)
    (files / "prof.toml").write_text(PROFILE.format(root=files))
    wait_queue_empty()
