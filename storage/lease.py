"""The store lease: one writer (scan or calibration) per store at a time.

A writer holds the lease for as long as it works on a store::

    with StoreLease(url, purpose="scan"):
        ...  # prepare, submit, write

The lease is the file ``<store>/lease/holder.json`` (``lease`` is an empty Zarr group, so
Zarr and xarray see a valid hierarchy), created exclusively (locally by ``link(2)`` of a
complete file) with the holder's host, pid, purpose and start time; it is never rewritten.
A background thread refreshes the holder's heartbeat every ``heartbeat_s`` seconds in a file of
its own, ``<store>/lease/heartbeat-<token>``, so a heartbeat can never overwrite the lease of a
writer that took over in the meantime (the holder then sees another token and stops). A second
writer is refused with :class:`StoreBusyError` naming the holder. A lease is *stale*, and is
taken over with a warning, when its heartbeat is older than ``stale_after_s`` (default 120 s:
a holder killed without cleaning up blocks the store for at most two minutes), or at once when
the holder ran on this host and its process has ended. On exit the holder removes its files.

On object stores (``s3://``…) exclusive creation is not atomic: the lease there guards against
a second scan started by mistake, not against two started in the same second.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from nubound.physics.errors import NuboundError
from nubound.storage.store import normalize_url

log = logging.getLogger(__name__)

LEASE_GROUP = "lease"
HOLDER = "holder.json"
HEARTBEAT_S = 10.0
STALE_AFTER_S = 120.0
_GROUP_META = {"zarr_format": 3, "node_type": "group", "attributes": {
    "description": "the store's lease: holder.json names the scan writing this store"}}


class StoreBusyError(NuboundError, RuntimeError):
    """Another scan or calibration holds the store's lease."""


class LeaseLostError(StoreBusyError):
    """Another writer took this process's lease of the store (e.g. it saw no heartbeat)."""


def _process_started(pid: int) -> float | None:
    """Start time of process ``pid`` on this host (None: no such process)."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class LeaseHolder:
    """What the lease file records."""

    host: str
    pid: int
    pid_started: float
    purpose: str
    started_unix: float
    heartbeat_unix: float
    heartbeat_s: float
    token: str

    def describe(self, now: float | None = None) -> str:
        """``"scan pid 123 on host h (since …, last heartbeat 4 s ago)"``."""
        age = (now or time.time()) - self.heartbeat_unix
        return (f"{self.purpose} pid {self.pid} on host {self.host} (since "
                f"{_iso(self.started_unix)}, last heartbeat {age:.0f} s ago)")

    def ended_here(self) -> bool:
        """True if the holder ran on this host and its process is gone (or was replaced)."""
        if self.host != socket.gethostname():
            return False
        started = _process_started(self.pid)
        return started is None or abs(started - self.pid_started) > 1.0


class StoreLease:
    """Context manager holding the lease of the store at ``url`` (see the module docstring).

    >>> with StoreLease("out/quickstart.zarr", purpose="scan"):  # doctest: +SKIP
    ...     pass
    """

    def __init__(self, url: str, purpose: str = "scan", *, heartbeat_s: float = HEARTBEAT_S,
                 stale_after_s: float = STALE_AFTER_S) -> None:
        from fsspec.core import url_to_fs

        self.url = normalize_url(url)
        self.purpose = purpose
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.fs, root = url_to_fs(self.url)
        self.local = "://" not in self.url
        self.folder = f"{root}/{LEASE_GROUP}"
        self.path = f"{self.folder}/{HOLDER}"
        self.token = uuid.uuid4().hex
        self.lost = False
        self.lost_to = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._holder: LeaseHolder | None = None

    # -- file operations -------------------------------------------------------------------
    def _heartbeat_path(self, token: str) -> str:
        return f"{self.folder}/heartbeat-{token}"

    def _read(self, path: str | None = None) -> LeaseHolder | None:
        try:
            holder = LeaseHolder(**json.loads(self.fs.cat_file(path or self.path)))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:  # half-written or foreign: treat as stale
            log.warning("unreadable lease %s (%s)", path or self.path, exc)
            return LeaseHolder("?", -1, 0.0, "?", 0.0, 0.0, 0.0, "unreadable")
        try:  # the latest heartbeat of that holder, if it wrote one
            beat = float(self.fs.cat_file(self._heartbeat_path(holder.token)))
        except (FileNotFoundError, ValueError):
            return holder
        return replace(holder, heartbeat_unix=max(holder.heartbeat_unix, beat))

    def _remove(self, path: str) -> None:
        try:
            self.fs.rm(path)
        except FileNotFoundError:
            pass

    def _write_atomic(self, path: str, data: bytes) -> None:
        if self.local:
            tmp = f"{path}.tmp-{self.token}"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        else:
            self.fs.pipe_file(path, data)

    def _create_exclusive(self, data: bytes) -> bool:
        if self.local:  # link(2) is atomic and never replaces: the file appears complete
            tmp = f"{self.path}.new-{self.token}"
            with open(tmp, "wb") as f:
                f.write(data)
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
            return True
        if self.fs.exists(self.path):
            return False
        self.fs.pipe_file(self.path, data)
        return True

    def _ensure_group(self) -> None:
        meta = f"{self.folder}/zarr.json"
        if not self.fs.exists(meta):
            if self.local:
                os.makedirs(self.folder, exist_ok=True)
            self._write_atomic(meta, json.dumps(_GROUP_META, indent=2).encode())

    def _holder_now(self) -> LeaseHolder:
        now = time.time()
        started = self._holder.started_unix if self._holder else now
        return LeaseHolder(socket.gethostname(), os.getpid(),
                           _process_started(os.getpid()) or 0.0, self.purpose, started, now,
                           self.heartbeat_s, self.token)

    # -- acquire / release -----------------------------------------------------------------
    def _take_over(self, stale: LeaseHolder) -> None:
        """Move a stale lease aside, unless another writer replaced it meanwhile."""
        aside = f"{self.path}.stale-{self.token}"
        try:
            self.fs.mv(self.path, aside)
        except FileNotFoundError:
            return  # someone else moved it: try again
        moved = self._read(aside)
        if moved is not None and moved.token != stale.token:  # a fresh lease: put it back
            if not self._create_exclusive(json.dumps(asdict(moved)).encode()):
                log.warning("lease %s contended", self.path)
        else:
            self._remove(self._heartbeat_path(stale.token))
        self.fs.rm(aside)

    def acquire(self) -> StoreLease:
        """Take the lease or raise :class:`StoreBusyError` naming its holder."""
        self._ensure_group()
        for _ in range(5):
            self._holder = self._holder_now()
            if self._create_exclusive(json.dumps(asdict(self._holder)).encode()):
                self._thread = threading.Thread(target=self._beat, daemon=True,
                                                name=f"nubound-lease-{self.token[:8]}")
                self._thread.start()
                return self
            other = self._read()
            if other is None:
                continue  # released meanwhile
            age = time.time() - other.heartbeat_unix
            if other.ended_here() or age > self.stale_after_s:
                why = ("its process has ended" if other.ended_here()
                       else f"no heartbeat for {age:.0f} s > {self.stale_after_s:g} s")
                log.warning("store %s: taking over the stale lease of %s: %s", self.url,
                            other.describe(), why)
                self._take_over(other)
                continue
            raise StoreBusyError(
                f"store {self.url} is in use by {other.describe()}; wait for it to finish or "
                f"stop it; a lease without heartbeat for {self.stale_after_s:g} s is taken over")
        raise StoreBusyError(f"store {self.url}: could not take its lease (contended)")

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            current = self._read()
            if current is None or current.token != self.token:
                self.lost_to = current.describe() if current else "nobody (file removed)"
                self.lost = True
                log.error("store %s: lost its lease to %s", self.url, self.lost_to)
                return
            try:
                self._write_atomic(self._heartbeat_path(self.token), repr(time.time()).encode())
            except OSError as exc:  # a full disk must not kill the scan; the next beat retries
                log.warning("store %s: lease heartbeat failed: %s", self.url, exc)

    def check(self) -> None:
        """Raise :class:`LeaseLostError` if the heartbeat found the lease taken by another."""
        if self.lost:
            raise LeaseLostError(
                f"store {self.url}: its lease was taken over by {self.lost_to} (this process "
                f"wrote no heartbeat for {self.stale_after_s:g} s, or the lease file was "
                "replaced); stopped so that two writers do not share the store. Blocks already "
                "written are kept; run the scan again to resume once the other one ends")

    def release(self) -> None:
        """Stop the heartbeat and remove the lease file if it is still ours."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        current = self._read()
        if current is not None and current.token == self.token:
            self.fs.rm(self.path)
        self._remove(self._heartbeat_path(self.token))

    def __enter__(self) -> StoreLease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lease_holder(url: str) -> LeaseHolder | None:
    """The current holder of the store's lease (None: free)."""
    return StoreLease(url)._read()
