"""One scan per store: a running scan's lease refuses a second one; creation races resume."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nubound.scanner.run import prepare_store, run_scan
from nubound.scanner.spec import parse_spec
from nubound.storage.lease import StoreBusyError, StoreLease, lease_holder
from nubound.storage.store import done_map, read_attrs


def _wait(predicate, timeout_s=60.0):
    t0 = time.monotonic()
    while not predicate():
        assert time.monotonic() - t0 < timeout_s, "condition not reached"
        time.sleep(0.05)


def test_second_scan_of_a_running_store_is_refused(client, fake, registry, tmp_path):
    url = str(tmp_path / "busy.zarr")
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(fake.spec_text(url, chunks=(2, 8)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "fake_physics", str(spec_path), client.scheduler.address, "0.1"],
        cwd=Path(fake.__file__).parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def holds():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            holder = Path(url).exists() and lease_holder(url)
            return bool(holder) and holder.pid == proc.pid

        _wait(holds)
        spec = parse_spec(spec_path.read_text(), registry=registry)
        with pytest.raises(StoreBusyError) as err:
            run_scan(spec, client, registry=registry, progress=None)
        assert str(err.value).startswith(f"store {url} is in use by scan pid {proc.pid} on host ")
        assert proc.wait(120) == 0, proc.stderr.read().decode()[-2000:]
    finally:
        proc.kill()
        proc.stderr.close()
    assert done_map(url).all()
    assert lease_holder(url) is None  # the first scan released it


def test_two_creations_at_once_share_one_store_and_leave_no_temporary(fake, registry, tmp_path):
    for attempt in range(4):
        url = str(tmp_path / f"race{attempt}.zarr")
        spec = parse_spec(fake.spec_text(url), registry=registry)
        barrier = threading.Barrier(2)
        out, errors = [], []

        def start(spec=spec, barrier=barrier, out=out, errors=errors):
            barrier.wait()
            try:
                out.append(prepare_store(spec, registry=registry))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=start) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len({store_id for _, store_id in out}) == 1
        assert out[0][1] == read_attrs(url)["store_id"]
        assert list(tmp_path.glob("*.creating-*")) == []


def test_cli_scan_of_a_busy_store_says_who_holds_it(tmp_path, capsys):
    """`nubound scan STORE` (the quickstart's) while another writer holds the lease: one line."""
    from nubound.jobs.cli import main
    from nubound.scanner.spec import load_spec

    spec_path = tmp_path / "tiny.toml"
    quickstart = Path(__file__).parents[2] / "configs" / "quickstart.toml"
    text = quickstart.read_text()
    assert 'store = "scans/quickstart.zarr"' in text
    spec_path.write_text(text.replace('store = "scans/quickstart.zarr"',
                                      f'store = "{tmp_path / "q.zarr"}"'))
    url, _ = prepare_store(load_spec(spec_path))
    with StoreLease(url, purpose="calibration"):
        code = main(["scan", url, "--workers", "1", "--dashboard-address", "127.0.0.1:0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith(f"nubound: error: store {url} is in use by calibration pid ")
    assert not any("Traceback" in line for line in err)


def test_two_scans_started_at_once_on_a_new_store(client, fake, tmp_path):
    """One scans, the other is refused naming it; no temporary folder is left behind."""
    slow = fake.FakeRegistry(sleep_s=0.05)
    url = str(tmp_path / "both.zarr")
    spec = parse_spec(fake.spec_text(url, chunks=(2, 8)), registry=slow)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def start():
        barrier.wait()
        try:
            results.append(run_scan(spec, client, registry=slow, progress=None))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 1 and len(errors) == 1, (results, errors)
    assert isinstance(errors[0], StoreBusyError)
    assert str(errors[0]).startswith(f"store {url} is in use by scan pid ")
    assert results[0].blocks_computed == 12
    assert done_map(url).all()
    assert list(tmp_path.glob("*.creating-*")) == []


def _take_over(url: str, *, pid: int) -> None:
    """What a second writer's takeover leaves in the store's lease file."""
    path = Path(url, "lease", "holder.json")
    holder = json.loads(path.read_text())
    path.write_text(json.dumps(holder | {"token": "other", "pid": pid}))


def test_a_scan_whose_lease_is_taken_over_stops_and_says_by_whom(client, fake, tmp_path,
                                                                  monkeypatch):
    # another writer took the lease (it saw no heartbeat): the scan stops at the next block
    # instead of writing beside it; what was written stays, and a later run resumes
    import functools

    from nubound.scanner import run
    from nubound.storage.lease import LeaseLostError

    monkeypatch.setattr(run, "StoreLease", functools.partial(StoreLease, heartbeat_s=0.05))
    reg = fake.FakeRegistry(sleep_s=0.05)
    url = str(tmp_path / "taken.zarr")
    spec = parse_spec(fake.spec_text(url, chunks=(2, 8)), registry=reg)

    class TakeOver:
        seen = 0

        def start(self, **kwargs):
            pass

        def block_done(self, report):
            self.seen += 1
            if self.seen == 1:
                _take_over(url, pid=4242)

        def close(self):
            pass

    monitor = TakeOver()
    with pytest.raises(LeaseLostError, match=r"taken over by scan pid 4242 .*run the scan again"):
        run_scan(spec, client, registry=reg, progress=None, monitor=monitor,
                 max_in_flight=1)
    done = int(done_map(url).sum())
    assert 1 <= done < done_map(url).size and monitor.seen < done_map(url).size
    assert lease_holder(url).pid == 4242  # the other writer's lease is left in place


def test_a_lease_taken_over_during_a_refinement_level_stops_the_scan(client, fake, tmp_path,
                                                                     monkeypatch):
    # the same takeover, in the first refinement level: the level stops at its next block
    import functools

    from nubound.scanner import run
    from nubound.storage import levels as lv
    from nubound.storage.lease import LeaseLostError

    monkeypatch.setattr(run, "StoreLease", functools.partial(StoreLease, heartbeat_s=0.05))
    reg = fake.FakeRegistry(sleep_s=0.02)
    url = str(tmp_path / "taken.zarr")
    refine = ('\n[refine]\naxes = ["coupling"]\nlevels = 3\nconfidence_levels = [0.9]\n'
              'targets = ["combined"]\n')
    spec = parse_spec(fake.spec_text(url, chunks=(1, 8)) + refine, registry=reg)

    class TakeOverInLevel1:
        level = 0
        seen = 0

        def start(self, **kwargs):
            self.level = kwargs.get("level", 0)

        def block_done(self, report):
            if self.level == 1:
                self.seen += 1
                if self.seen == 1:
                    _take_over(url, pid=4243)

        def close(self):
            pass

    monitor = TakeOverInLevel1()
    with pytest.raises(LeaseLostError, match=r"taken over by scan pid 4243"):
        run_scan(spec, client, registry=reg, progress=None, monitor=monitor, max_in_flight=1)
    assert done_map(url).all()  # the base grid was finished before the takeover
    planned, done = lv.level_maps(url, 1)
    assert 1 <= int(done.sum()) < int(planned.sum())  # stopped inside level 1
    assert lv.level_maps(url, 2) is None  # and never planned level 2
