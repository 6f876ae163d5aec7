"""Integration: real LocalCluster (2 worker processes), real Zarr stores in tmp_path.

Killing a worker or the client mid-scan and resuming gives values equal bit for bit to an
uninterrupted run, and no block marked done is written again.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from nubound.scanner.evaluate import evaluate
from nubound.scanner.plan import block_at
from nubound.scanner.run import run_scan
from nubound.scanner.spec import parse_spec
from nubound.storage.store import StoreMismatchError, chi2_name, done_map

SLOW_S = 0.06  # per signal_counts call (4 per block) in the kill tests


def _values(url):
    group = zarr.open_group(url, mode="r")
    return {name: group[name][...] for name in sorted(group.array_keys())}


def _wait(predicate, timeout_s=60.0):
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)


def _chunk_mtimes(url, spec, blocks):
    """mtime of every chunk file of the given blocks (Zarr 3 layout: <var>/c/i/j[/k])."""
    out = {}
    for index in blocks:
        for exp in spec.experiments:
            extra = ["0"] if spec.quenching_for(exp) else []
            path = Path(url, chi2_name(exp), "c", *map(str, index), *extra)
            out[path] = path.stat().st_mtime_ns
    return out


@pytest.fixture(scope="module")
def reference(client, fake, registry, tmp_path_factory):
    """An uninterrupted scan: (spec, values)."""
    url = str(tmp_path_factory.mktemp("ref") / "ref.zarr")
    spec = parse_spec(fake.spec_text(url, chunks=(2, 8)), registry=registry)
    result = run_scan(spec, client, registry=registry, progress=None)
    assert result.blocks_computed == result.blocks_total == 12
    return spec, _values(url)


def test_uninterrupted_scan_equals_direct_evaluation(reference, registry):
    spec, values = reference
    assert (values["done"] == 1).all()
    whole = evaluate(spec, block_at((0, 0), spec.shape, spec.shape), registry=registry).chi2
    for exp, chi2 in whole.items():
        stored = values[chi2_name(exp)]
        assert not np.isnan(stored).any()
        np.testing.assert_allclose(stored, chi2, rtol=1e-12, atol=0)
    assert values["chi2_fake_a"].shape == (12, 16, 3)


def test_resume_of_a_complete_store_computes_nothing(client, reference, registry):
    spec, values = reference
    result = run_scan(spec, client, registry=registry, progress=None)
    assert result.blocks_computed == 0 and result.blocks_done_before == 12


def test_worker_sigkill_mid_scan_still_completes_exactly(client, fake, reference, tmp_path):
    ref_spec, ref_values = reference
    url = str(tmp_path / "k.zarr")
    slow = fake.FakeRegistry(sleep_s=SLOW_S)
    spec = parse_spec(fake.spec_text(url, chunks=(2, 8)), registry=slow)
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_when_started():
        try:
            ok = done_map(url).sum() >= 2
        except (FileNotFoundError, KeyError, LookupError):
            return False
        if ok and not killed:
            os.kill(pids[0], signal.SIGKILL)
            done = done_map(url)
            blocks = [tuple(i) for i in np.argwhere(done)]
            killed.append((blocks, _chunk_mtimes(url, spec, blocks)))
        return bool(killed)

    import threading

    watcher = threading.Thread(target=_wait, args=(kill_when_started,), daemon=True)
    watcher.start()
    result = run_scan(spec, client, registry=slow, progress=None)
    watcher.join(5)
    assert killed, "the worker was not killed mid-scan"
    assert result.blocks_done_before == 0
    assert done_map(url).sum() == 12
    blocks, mtimes = killed[0]
    # a block marked done before the kill is never written again (the task checks `done`)
    assert _chunk_mtimes(url, spec, blocks) == mtimes
    got = _values(url)
    assert got.keys() == ref_values.keys()
    for name in got:
        assert got[name].tobytes() == ref_values[name].tobytes(), name
    _wait(lambda: len(client.scheduler_info()["workers"]) == 2)  # nanny restarted it


def test_client_sigkill_then_resume_is_bit_identical(client, fake, reference, tmp_path):
    ref_spec, ref_values = reference
    url = str(tmp_path / "c.zarr")
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(fake.spec_text(url, chunks=(2, 8)))
    address = client.scheduler.address
    proc = subprocess.Popen(
        [sys.executable, "-m", "fake_physics", str(spec_path), address, str(SLOW_S)],
        cwd=Path(fake.__file__).parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        def started():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                return done_map(url).sum() >= 3
            except (FileNotFoundError, KeyError, LookupError):
                return False

        _wait(started)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
        proc.stderr.close()
    # tasks of the dead client that were already running still finish: wait until the map
    # has not changed for longer than a block takes (4 x SLOW_S)
    seen = [done_map(url), time.monotonic()]

    def quiet():
        now = done_map(url)
        if not np.array_equal(now, seen[0]):
            seen[:] = [now, time.monotonic()]
        return time.monotonic() - seen[1] > 8 * SLOW_S + 0.3

    _wait(quiet)
    done_before = done_map(url)
    assert 3 <= done_before.sum() < 12, "the client was not killed mid-scan"
    before = _chunk_mtimes(url, ref_spec, [tuple(i) for i in np.argwhere(done_before)])

    slow = fake.FakeRegistry(sleep_s=SLOW_S)
    spec = parse_spec(spec_path.read_text(), registry=slow)
    result = run_scan(spec, client, registry=slow, progress=None)
    assert result.blocks_done_before == done_before.sum()
    assert result.blocks_computed == 12 - done_before.sum()
    assert _chunk_mtimes(url, ref_spec, before_keys := list(map(tuple, np.argwhere(done_before)))
                         ) == before, before_keys
    got = _values(url)
    for name in got:
        assert got[name].tobytes() == ref_values[name].tobytes(), name


def test_resume_with_a_different_spec_is_refused(client, fake, registry, reference):
    spec, _ = reference
    other = parse_spec(fake.spec_text(spec.store, n_coupling=17, chunks=(2, 8)),
                       registry=registry)
    with pytest.raises(StoreMismatchError, match="different spec; refusing to resume"):
        run_scan(other, client, registry=registry, progress=None)
    asimov = parse_spec(fake.spec_text(spec.store, chunks=(2, 8), data="asimov"),
                        registry=registry)
    with pytest.raises(StoreMismatchError, match='data = "asimov"'):
        run_scan(asimov, client, registry=registry, progress=None)
