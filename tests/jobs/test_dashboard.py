"""The nubound page of the Dask dashboard during a real (fake-physics) scan on a LocalCluster.

The cluster loads the page the way ``nubound scan`` does (``scheduler_kwargs`` preload); the
driver's monitor pushes summaries while a slowed scan runs in a thread. Checked while it runs:
HTTP 200 on the dashboard's port and the navigation link, the Bokeh document as a Bokeh client
receives it, and a headless-Chromium screenshot; after it ends, the final summary.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from nubound.jobs.dashboard.plugin import NAME, PAGE
from tests.system_tools import not_run

# Bokeh's client sessions and the browser's devtools connection leave closed sockets to the
# garbage collector, whose ResourceWarning can then fire inside any later test
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

sys.path.insert(0, str(Path(__file__).parent))
import page_checks as pc  # noqa: E402

N_MASS, N_COUPLING, CHUNKS = 32, 16, (4, 8)  # 8 x 2 = 16 blocks
N_BLOCKS = (N_MASS // CHUNKS[0]) * (N_COUPLING // CHUNKS[1])


@pytest.fixture(scope="module")
def running_scan(tmp_path_factory, fake_registry, fake_spec_text):
    """A slowed scan of 16 blocks on one worker, its driver in a thread; the page's URL."""
    import fake_physics
    from distributed import Client, LocalCluster

    from nubound.jobs.dashboard.monitor import DashboardMonitor
    from nubound.jobs.dashboard.preload import scheduler_preload
    from nubound.scanner.run import run_scan
    from nubound.scanner.spec import parse_spec

    # 4 model calls: ~4 s a block, ~30 s in all, so that the scan still runs during the
    # screenshot and the Bokeh client test on a loaded machine
    registry = fake_physics.FakeRegistry(sleep_s=1.0)
    store = str(tmp_path_factory.mktemp("dash") / "scan.zarr")
    spec = parse_spec(fake_spec_text(store, n_mass=N_MASS, n_coupling=N_COUPLING,
                                     chunks=CHUNKS), registry=registry)
    with LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", scheduler_kwargs=scheduler_preload()
                      ) as cluster, Client(cluster) as client:
        monitor = DashboardMonitor(client, interval_s=0.3, stream=None)
        out: dict = {}

        def drive() -> None:
            try:
                out["result"] = run_scan(spec, client, registry=registry, max_in_flight=2,
                                         progress=None, monitor=monitor)
            except BaseException as exc:
                out["error"] = exc

        thread = threading.Thread(target=drive)
        thread.start()
        page = client.dashboard_link.rsplit("/status", 1)[0] + PAGE
        plugin = cluster.scheduler.plugins[NAME]
        deadline = time.monotonic() + 120
        while (plugin.latest() is None or plugin.latest()["blocks_done"] < 1) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        try:
            yield {"page": page, "plugin": plugin, "thread": thread, "out": out,
                   "monitor": monitor, "client": client, "store": store}
        finally:
            thread.join(300)


def test_page_answers_on_the_dashboard_port_and_is_linked(running_scan):
    page = running_scan["page"]
    status, body = pc.get(page)
    assert status == 200 and "bokeh" in body.lower() and 'href="nubound"' in body
    base = page.removesuffix(PAGE)
    status, body = pc.get(base + "/status")
    assert status == 200 and 'href="nubound"' in body  # the navigation bar of every page
    status, body = pc.get(base + "/individual-plots.json")
    assert '"/individual-nubound"' in body  # the JupyterLab Dask panel lists it
    assert pc.get(base + "/individual-nubound")[0] == 200


def test_chromium_renders_the_page_mid_scan(running_scan, cdp, tmp_path):
    if cdp.chromium() is None:
        not_run("BROWSER TEST NOT RUN: chromium is missing "
                    "(apt-get install -y --no-install-recommends chromium)")
    plugin = running_scan["plugin"]
    deadline = time.monotonic() + 120
    while plugin.latest()["blocks_done"] < 6 and time.monotonic() < deadline:
        time.sleep(0.1)  # three of the eight mass columns complete: curves of some length
    png = pc.screenshot(cdp, running_scan["page"], tmp_path / "page.png")
    latest = running_scan["plugin"].latest()
    assert latest["blocks_done"] < N_BLOCKS, "the scan ended before the screenshot"
    pc.assert_page_drawn(png)


def test_bokeh_client_sees_the_pushed_progress(running_scan):
    text = pc.header_text(running_scan["page"])
    done, total = pc.blocks_done_in(text)
    assert total == N_BLOCKS and 1 <= done <= N_BLOCKS
    assert "fake_vector" in text and "retried blocks 0" in text
    assert done < N_BLOCKS, "the scan ended before the page could be watched"
    deadline = time.monotonic() + 30.0
    done_later = done
    while done_later == done and time.monotonic() < deadline:  # a block later
        time.sleep(0.5)
        done_later, _ = pc.blocks_done_in(pc.header_text(running_scan["page"]))
    assert done_later > done, "the page did not update as blocks landed"


def test_final_summary_after_the_scan(running_scan):
    running_scan["thread"].join(300)
    assert "error" not in running_scan["out"], running_scan["out"].get("error")
    result = running_scan["out"]["result"]
    latest = running_scan["plugin"].latest()
    assert latest["blocks_done"] == latest["blocks_total"] == result.blocks_total == N_BLOCKS
    assert latest["points_done"] == N_MASS * N_COUPLING and latest["eta_s"] == 0.0
    assert latest["points_per_s"] > 0 and (latest["retried"], latest["failed"]) == (0, 0)
    assert running_scan["monitor"].pushes >= 3
    assert {c["label"] for c in latest["plot"]["curves"]} == {"fake_a", "fake_b", "combined"}
