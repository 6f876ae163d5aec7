"""``nubound live-view``: the nubound page served from a store by a standalone Bokeh server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from nubound.jobs.dashboard.summary import read_summary
from nubound.jobs.live_view import LiveView
from nubound.scanner.plan import plan_blocks
from nubound.scanner.run import compute_block, prepare_store
from nubound.scanner.spec import parse_spec
from nubound.storage.store import open_store
from tests.system_tools import not_run

# Bokeh's client sessions and the browser's devtools connection leave closed sockets to the
# garbage collector, whose ResourceWarning can then fire inside any later test
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

sys.path.insert(0, str(Path(__file__).parent))
import page_checks as pc  # noqa: E402


@pytest.fixture
def partial_store(tmp_path, fake_registry, fake_spec_text):
    """A fake scan with 3 of its 6 blocks written (in process, no cluster); its pieces."""
    spec = parse_spec(fake_spec_text(str(tmp_path / "s.zarr")), registry=fake_registry)
    url, store_id = prepare_store(spec, registry=fake_registry)
    blocks = list(plan_blocks(spec.shape, spec.chunks))
    for block in blocks[:3]:
        compute_block(spec, block, url, store_id, fake_registry)
    return spec, url, store_id, blocks


def test_summary_reports_progress_done_map_and_limits(partial_store, fake_registry):
    spec, url, store_id, blocks = partial_store
    s = read_summary(url)
    assert (s["blocks_done"], s["blocks_total"]) == (3, len(blocks))
    assert (s["points_done"], s["points_total"]) == (3 * 4 * 8, 12 * 16)
    expected = np.zeros(np.array(s["done"]["fraction"]).shape)
    for block in blocks[:3]:
        expected[block.index] = 1
    np.testing.assert_array_equal(s["done"]["fraction"], expected)
    assert (s["done"]["x"], s["done"]["y"], s["cl"]) == ("mass_MeV", "coupling", 0.9)
    # block borders: the grid's ends outside, geometric means of neighbours inside (log axes)
    mass = open_store(url)["mass_MeV"].values
    assert s["done"]["x_edges"] == pytest.approx([mass[0], np.sqrt(mass[3] * mass[4]),
                                                  np.sqrt(mass[7] * mass[8]), mass[-1]])
    for block in blocks[3:]:
        compute_block(spec, block, url, store_id, fake_registry)
    full = read_summary(url)
    assert full["blocks_done"] == len(blocks)
    curves = {c["label"]: c for c in full["plot"]["curves"]}
    assert set(curves) == {"fake_a", "fake_b", "combined"}
    # independent check of the combined curve: at each mass the limit lies between the largest
    # grid coupling with Δχ² below chi2.ppf(0.9, 1) and the next grid coupling
    ds = open_store(url)
    chi2 = ds["chi2_fake_a"].min("quenching_fake_a") + ds["chi2_fake_b"]
    dchi2 = (chi2 - float(chi2.min())).transpose("mass_MeV", "coupling").values
    g = ds["coupling"].values
    level = stats.chi2.ppf(0.9, 1)
    checked = 0
    for row, limit in zip(dchi2, curves["combined"]["ys"][0], strict=True):
        allowed = np.flatnonzero(row <= level)
        if not np.isfinite(limit) or allowed[-1] + 1 >= g.size:
            continue
        assert g[allowed[-1]] <= limit <= g[allowed[-1] + 1]
        checked += 1
    assert checked >= 5


def test_served_on_loopback_and_refreshed_as_blocks_land(partial_store, fake_registry):
    spec, url, store_id, blocks = partial_store
    view = LiveView(url, refresh_s=0.2).start()
    try:
        assert view.url.startswith("http://127.0.0.1:")
        assert pc.get(view.url)[0] == 200
        assert pc.blocks_done_in(pc.header_text(view.url)) == (3, len(blocks))
        compute_block(spec, blocks[3], url, store_id, fake_registry)
        deadline = time.monotonic() + 30
        while view.latest()["blocks_done"] < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        text = pc.header_text(view.url)
        assert pc.blocks_done_in(text) == (4, len(blocks))
        assert "retried blocks –" in text  # known only to a scheduler
    finally:
        view.stop()


def test_chromium_renders_the_live_view(partial_store, cdp, tmp_path):
    if cdp.chromium() is None:
        not_run("BROWSER TEST NOT RUN: chromium is missing "
                    "(apt-get install -y --no-install-recommends chromium)")
    spec, url, store_id, blocks = partial_store
    view = LiveView(url).start()
    try:
        png = pc.screenshot(cdp, view.url, tmp_path / "live.png")
    finally:
        view.stop()
    pc.assert_page_drawn(png)


def test_missing_store_is_a_one_line_error(tmp_path):
    missing = tmp_path / "nothing.zarr"
    proc = subprocess.run([sys.executable, "-m", "nubound.jobs.cli", "live-view", str(missing),
                           "--address", "127.0.0.1:0"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"nubound: error: no scan store at {missing}"]
