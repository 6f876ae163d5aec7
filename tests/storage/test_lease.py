"""The store lease: one holder at a time, named in the refusal; stale leases are taken over."""

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zarr

from nubound.storage.lease import StoreBusyError, StoreLease, lease_holder


@pytest.fixture
def store(tmp_path):
    url = str(tmp_path / "s.zarr")
    zarr.open_group(url, mode="w", zarr_format=3).create_array("x", shape=(2,), dtype="f8")
    return url


def _wait(predicate, timeout_s=30.0):
    t0 = time.monotonic()
    while not predicate():
        assert time.monotonic() - t0 < timeout_s, "condition not reached"
        time.sleep(0.05)


def test_holder_is_recorded_and_a_second_writer_is_refused_naming_it(store):
    with StoreLease(store, purpose="scan"):
        holder = lease_holder(store)
        assert (holder.host, holder.pid, holder.purpose) == (socket.gethostname(), os.getpid(),
                                                             "scan")
        with pytest.raises(StoreBusyError) as err:
            StoreLease(store, purpose="calibration").acquire()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"store {store} is in use by scan pid {os.getpid()} on host "
                              f"{socket.gethostname()} (since ")
    assert "last heartbeat 0 s ago" in message
    assert lease_holder(store) is None  # released on exit
    # the lease folder is a Zarr group: listing the store's members does not warn
    assert sorted(zarr.open_group(store, mode="r").group_keys()) == ["lease"]


def test_heartbeat_advances_and_a_lost_lease_is_noticed(store):
    lease = StoreLease(store, heartbeat_s=0.05).acquire()
    try:
        first = lease_holder(store).heartbeat_unix
        _wait(lambda: lease_holder(store).heartbeat_unix > first)
        path = Path(store, "lease", "holder.json")
        raw = json.loads(path.read_text())
        path.write_text(json.dumps(raw | {"token": "someone-else"}))
        _wait(lambda: lease.lost)
    finally:
        lease.release()
    assert lease_holder(store).token == "someone-else"  # not ours: left in place


def test_lease_of_a_killed_process_on_this_host_is_taken_over_at_once(store, caplog):
    code = ("import sys, time; from nubound.storage.lease import StoreLease; "
            "l = StoreLease(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code, store], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"held"
        with pytest.raises(StoreBusyError, match=f"in use by scan pid {proc.pid} on host "):
            StoreLease(store).acquire()
        proc.kill()
        proc.wait(10)
    finally:
        proc.kill()
        proc.stdout.close()
    with caplog.at_level(logging.WARNING, logger="nubound.storage.lease"), StoreLease(store):
        assert lease_holder(store).pid == os.getpid()
    assert f"taking over the stale lease of scan pid {proc.pid}" in caplog.text
    assert "its process has ended" in caplog.text


def _foreign_lease(store, heartbeat_age_s):
    now = time.time()
    folder = Path(store, "lease")
    StoreLease(store)._ensure_group()
    (folder / "holder.json").write_text(json.dumps({
        "host": "node-7", "pid": 4242, "pid_started": now - 3600, "purpose": "scan",
        "started_unix": now - 3600, "heartbeat_unix": now - heartbeat_age_s,
        "heartbeat_s": 10.0, "token": "foreign"}))


def test_stale_lease_of_another_host_is_taken_over_with_a_warning(store, caplog):
    _foreign_lease(store, heartbeat_age_s=300)
    with caplog.at_level(logging.WARNING, logger="nubound.storage.lease"), \
            StoreLease(store, stale_after_s=120):
        assert lease_holder(store).pid == os.getpid()
    assert "taking over the stale lease of scan pid 4242 on host node-7" in caplog.text
    assert "no heartbeat for 300 s > 120 s" in caplog.text


def test_live_lease_of_another_host_is_respected(store):
    _foreign_lease(store, heartbeat_age_s=30)
    with pytest.raises(StoreBusyError, match="in use by scan pid 4242 on host node-7 .*"
                       "last heartbeat 30 s ago"):
        StoreLease(store, stale_after_s=120).acquire()
    assert lease_holder(store).token == "foreign"


def test_the_heartbeat_never_rewrites_the_holder_file(store):
    """A heartbeat that rewrote holder.json could overwrite the lease of a writer that took
    over between its read and its write; it goes to a file of the holder's own instead."""
    lease = StoreLease(store, heartbeat_s=0.02).acquire()
    try:
        path = Path(store, "lease", "holder.json")
        content = path.read_bytes()
        first = lease_holder(store).heartbeat_unix
        _wait(lambda: lease_holder(store).heartbeat_unix > first)  # it beats ...
        time.sleep(0.2)
        assert path.read_bytes() == content  # ... without touching the lease itself
    finally:
        lease.release()
    assert not list(Path(store, "lease").glob("heartbeat-*"))  # released: nothing left
