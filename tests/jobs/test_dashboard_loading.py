"""How the nubound page gets onto each kind of scheduler, and what the scheduler counts.

- an existing scheduler started with ``--preload nubound.jobs.dashboard.preload`` (the
  ``address`` profile), in its own process;
- a scheduler without it: the driver's monitor registers the plugin (``Client.register_plugin``);
- a dask-jobqueue SLURMCluster (``scheduler_options`` preload; no worker job is submitted);
- a TLS profile: the dashboard, the page included, is served over HTTPS only;
- Dask retries and failures of block tasks, counted by the plugin from task transitions.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import pytest

from nubound.jobs.dashboard.monitor import DashboardMonitor
from nubound.jobs.dashboard.plugin import HANDLER, NAME, PAGE
from nubound.scanner.plan import plan_blocks
from nubound.scanner.run import compute_block, prepare_store
from nubound.scanner.spec import parse_spec

# Bokeh's client sessions and the browser's devtools connection leave closed sockets to the
# garbage collector, whose ResourceWarning can then fire inside any later test
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

sys.path.insert(0, str(Path(__file__).parent))
import page_checks as pc  # noqa: E402


@pytest.fixture
def partial_store(tmp_path, fake_registry, fake_spec_text):
    """A fake scan store with 2 of its 6 blocks done; its URL."""
    spec = parse_spec(fake_spec_text(str(tmp_path / "s.zarr")), registry=fake_registry)
    url, store_id = prepare_store(spec, registry=fake_registry)
    for block in list(plan_blocks(spec.shape, spec.chunks))[:2]:
        compute_block(spec, block, url, store_id, fake_registry)
    return url


def test_existing_scheduler_with_the_preload(tmp_path, partial_store):
    from distributed import Client

    file = tmp_path / "scheduler.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(file),
         "--preload", "nubound.jobs.dashboard.preload"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.3)  # the file is written in one go, but give the writer a moment
        info = json.loads(file.read_text())
        base = f"http://127.0.0.1:{info['services']['dashboard']}"
        assert pc.get(base + PAGE)[0] == 200
        assert 'href="nubound"' in pc.get(base + "/status")[1]
        assert pc.get(base + "/individual-nubound")[0] == 200
        with Client(info["address"]) as client:
            monitor = DashboardMonitor(client, stream=None)
            monitor.start(url=partial_store, blocks_total=6, blocks_done=2)
            monitor.close()
            assert monitor.pushes >= 1
        assert pc.blocks_done_in(pc.header_text(base + PAGE)) == (2, 6)
    finally:
        proc.terminate()
        proc.wait(60)


def test_monitor_registers_the_plugin_on_a_plain_scheduler(partial_store):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=0, processes=False,
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        page = f"http://127.0.0.1:{cluster.scheduler.http_server.port}{PAGE}"
        with pytest.raises(urllib.error.HTTPError):
            pc.get(page)  # not there before
        monitor = DashboardMonitor(client, stream=None)
        monitor.start(url=partial_store, blocks_total=6, blocks_done=2, level=1)
        monitor.close()
        assert NAME in cluster.scheduler.plugins
        assert pc.get(page)[0] == 200
        text = pc.header_text(page)
        assert pc.blocks_done_in(text) == (2, 6) and "refinement level 1" in text


def test_slurm_cluster_loads_the_page_through_scheduler_options():
    pytest.importorskip("dask_jobqueue")
    from nubound.jobs.clusters import make_cluster, parse_profile

    profile = parse_profile({
        "profile_version": 1, "kind": "slurm", "network": {"interface": "lo",
                                                           "dashboard_address": "127.0.0.1:0"},
        "workers": {"cores": 1, "memory": "1GiB", "walltime": "00:05:00"},
        "scaling": {"jobs": 0}})
    cluster = make_cluster(profile)  # the scheduler runs here; no job is submitted
    try:
        assert NAME in cluster.scheduler.plugins
        base = cluster.dashboard_link.rsplit("/status", 1)[0]
        assert pc.get(base + PAGE)[0] == 200
        assert 'href="nubound"' in pc.get(base + "/status")[1]
    finally:
        cluster.close()


def test_tls_profile_serves_the_page_over_https_only(tls_files):
    from nubound.jobs.clusters import client_from_profile, parse_profile

    raw = {"profile_version": 1, "kind": "local", "network": {"dashboard_address": "127.0.0.1:0"},
           "workers": {"n_workers": 1, "memory_limit": "1GiB"},
           "tls": {"enabled": True, **tls_files}}
    with client_from_profile(parse_profile(raw)) as session:
        link = session.dashboard_link
        assert link.startswith("https://127.0.0.1:")
        page = link.rsplit("/status", 1)[0] + PAGE
        context = ssl.create_default_context(cafile=tls_files["ca_file"])
        assert pc.get(page, context=context)[0] == 200
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            pc.get(page.replace("https://", "http://"))


def test_retried_and_failed_blocks_are_counted():
    from distributed import Client, LocalCluster

    from nubound.jobs.dashboard.preload import scheduler_preload

    calls = {"flaky": 0}

    def flaky() -> int:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise RuntimeError("first attempt fails")
        return 1

    def broken() -> int:
        raise RuntimeError("always fails")

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address="127.0.0.1:0", scheduler_kwargs=scheduler_preload()
                      ) as cluster, Client(cluster) as client:
        ok = client.submit(flaky, key="nubound-block-t-0-0", retries=2, pure=False)
        bad = client.submit(broken, key="nubound-block-t-1-0", retries=1, pure=False)
        other = client.submit(broken, key="not-a-block", retries=1, pure=False)
        assert ok.result() == 1
        for future in (bad, other):
            with pytest.raises(RuntimeError):
                future.result()
        plugin = cluster.scheduler.plugins[NAME]
        assert (plugin.retried, plugin.failed, plugin.failed_blocks) == (2, 1, ["t-1-0"])
        client.sync(getattr(client.scheduler, HANDLER), summary={"blocks_done": 1})
        assert plugin.latest() | {} == {"blocks_done": 1, "retried": 2, "failed": 1,
                                        "failed_blocks": ["t-1-0"]}
        client.sync(getattr(client.scheduler, HANDLER), summary={"blocks_done": 0}, reset=True)
        assert (plugin.latest()["retried"], plugin.latest()["failed"]) == (0, 0)
