"""The client's submission loop: prepare the store, submit one task per block not yet done.

- The store is created once from the spec by the client (template + attributes), or, when it
  exists, checked against the spec (a different spec is an error) and resumed.
- Blocks go to the scheduler through an elastic window (:mod:`nubound.scanner.dispatch`) that
  grows with the cluster (to the cluster's maximum size when it is adaptive), so a 1e5-block
  scan neither floods the scheduler nor starves an adaptive cluster; each task has ``retries``.
  The scheduler is told what a block costs (timed on a thin slice in a client thread while the
  first blocks run), so that adaptive scaling sees the real work from its first rounds.
- A task (:func:`compute_block`, on a worker) skips a block already marked done, evaluates it
  (pure), writes its region and last its ``done`` cell. A crash at any moment leaves the block
  either complete and marked, or unmarked and recomputed; values are deterministic, so a resumed
  scan equals an uninterrupted one bit for bit, and no done block is written twice.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from typing import TextIO

from nubound.physics.compiled import compile_kernels
from nubound.scanner.catalogue import PhysicsRegistry, default_registry
from nubound.scanner.dispatch import cluster_threads, dispatch, tell_task_duration
from nubound.scanner.evaluate import evaluate, load_experiments
from nubound.scanner.monitor import ScanMonitor
from nubound.scanner.plan import Block, plan_blocks
from nubound.scanner.spec import ScanSpec, parse_spec
from nubound.scanner.spec_toml import spec_to_toml
from nubound.storage import store as st
from nubound.storage.lease import StoreLease
from nubound.storage.verify import clear_damaged_blocks, verify_store

log = logging.getLogger(__name__)
# (url, store_id) that run_scan prepared, so that its loop's prepare_store does not redo it
_PREPARED: ContextVar[tuple[str, str] | None] = ContextVar("nubound_prepared", default=None)


@dataclass(frozen=True)
class BlockReport:
    """What one task did (seconds of wall time on the worker)."""

    index: tuple[int, ...]
    skipped: bool
    evaluate_s: float = 0.0
    write_s: float = 0.0
    total_s: float = 0.0
    n_points: int = 0
    worker: str = ""  # host:pid of the process that ran the task
    load_s: float = 0.0  # reading the experiments' data (the first block of a process)


@dataclass(frozen=True)
class ScanResult:
    """Summary of one run of :func:`run_scan`."""

    url: str
    blocks_total: int
    blocks_done_before: int
    blocks_computed: int
    blocks_skipped: int
    points_computed: int
    wall_s: float
    evaluate_s: float
    write_s: float
    task_s: float
    load_s: float = 0.0  # reading the experiments' data, summed over worker processes
    dashboard_link: str | None = None
    block_s_estimate: float | None = None
    reports: tuple[BlockReport, ...] = field(default=(), repr=False)
    levels: tuple = ()  # one scanner.refine.LevelReport per refinement level


def compute_block(spec: ScanSpec, block: Block, url: str, store_id: str,
                  registry: PhysicsRegistry | None) -> BlockReport:
    """Worker task: evaluate ``block`` and write it, unless it is already done."""
    t_start = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if st.block_is_done(url, store_id, block):
        return BlockReport(block.index, skipped=True, worker=worker)
    t_load = time.perf_counter()
    load_experiments(spec, registry=registry)  # the data: once per process
    t0 = time.perf_counter()
    values = evaluate(spec, block, registry=registry)
    t1 = time.perf_counter()
    st.write_unconverged(url, store_id, block, values.unconverged)  # before the done cell
    st.write_block(url, store_id, block, values.chi2)
    t2 = time.perf_counter()
    n = 1
    for s in block.shape:
        n *= s
    return BlockReport(block.index, False, t1 - t0, t2 - t1, t2 - t_start, n, worker,
                       t0 - t_load)


def check_same_spec(spec: ScanSpec, url: str, *,
                    registry: PhysicsRegistry | None = None) -> str:
    """Raise ``StoreMismatchError`` unless the store at ``url`` holds ``spec``; return its id."""
    attrs = st.read_attrs(url)
    if "spec_toml" not in attrs or "store_id" not in attrs:
        raise st.StoreMismatchError(f"{url} exists but is not a complete nubound scan store; "
                                    "delete it or choose another --store")
    old = parse_spec(attrs["spec_toml"], registry=registry, source=f"{url} attrs")
    if not old.same_scan(spec):
        old_lines = set(attrs["spec_toml"].splitlines())
        diff = [ln for ln in spec_to_toml(spec).splitlines()
                if ln not in old_lines and not ln.startswith(("store =", "description ="))]
        raise st.StoreMismatchError(
            f"store {url} was created from a different spec; refusing to resume. Lines of the "
            f"new spec not in the stored one: {diff[:6]}. Use the original spec or another store."
        )
    return attrs["store_id"]


def prepare_store(spec: ScanSpec, *, url: str | None = None,
                  registry: PhysicsRegistry | None = None) -> tuple[str, str]:
    """Create the store (or check it for a resume); return ``(url, store_id)``."""
    reg = registry or default_registry()
    url = st.normalize_url(url or spec.store)
    prepared = _PREPARED.get()
    if prepared is not None and prepared[0] == url:  # inside run_scan: done already
        return prepared
    if st.store_exists(url):
        store_id = check_same_spec(spec, url, registry=reg)
        log.info("resuming the scan in %s", url)
    else:
        if spec.data == "asimov":
            reg.check_asimov(spec.experiments)
        hashes = reg.data_hashes(spec.experiments)
        try:
            store_id = st.create_store(spec, url, spec_toml=spec_to_toml(spec),
                                       data_hashes=hashes)
        except st.StoreExistsError:
            if not st.store_exists(url):
                raise
            # another client created it at the same moment: resume it (its lease decides)
            return prepare_store(spec, url=url, registry=reg)
        log.info("created the store %s", url)
    return url, store_id


def repair_damaged_blocks(url: str,
                          progress: TextIO | None = sys.stderr) -> list[tuple[int, ...]]:
    """Find damaged chunks (:func:`~nubound.storage.verify.verify_store`) and unmark their
    blocks, so that the scan recomputes exactly them; return those block indices."""
    bad = verify_store(url)
    if not bad:
        return []
    blocks = clear_damaged_blocks(url, bad)
    shown = ", ".join(map(str, blocks[:5])) + (", …" if len(blocks) > 5 else "")
    message = (f"store {url} has {len(blocks)} damaged block(s): {shown} (first: "
               f"{bad[0].file}: {bad[0].reason}); cleared them, recomputing them now")
    log.warning("%s", message)
    if progress is not None:
        print(f"nubound scan: {message}", file=progress, flush=True)
    return blocks


class Progress:
    """A one-line progress bar on stderr (redrawn at most every ``every_s``)."""

    def __init__(self, total: int, done: int, stream: TextIO | None = None,
                 every_s: float = 0.5) -> None:
        self.total, self.done, self.stream, self.every_s = total, done, stream, every_s
        self.start = self.last = time.monotonic()
        self.new = 0

    def update(self, n: int = 1, *, force: bool = False) -> None:
        """Count ``n`` more blocks and redraw if due."""
        self.done += n
        self.new += n
        now = time.monotonic()
        if self.stream is None or (not force and now - self.last < self.every_s):
            return
        self.last = now
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(30 * frac)
        rate = self.new / max(now - self.start, 1e-9)
        self.stream.write(f"\rscan [{bar:<30}] {self.done}/{self.total} blocks "
                          f"{100 * frac:5.1f}% {rate:.1f} blocks/s")
        self.stream.flush()

    def close(self) -> None:
        """Final redraw and newline."""
        self.update(0, force=True)
        if self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


BLOCK_KEY_PREFIX = "nubound-block"


def estimate_block_seconds(spec: ScanSpec, block: Block,
                           registry: PhysicsRegistry | None = None) -> float:
    """Seconds one worker thread needs for ``block``, timed on a thin slice of it.

    The slice keeps one point along every axis but the last; it is evaluated once to warm the
    process's caches (data, responses) and once more timed, then scaled by the block's points.
    """
    thin = Block(block.index, block.start,
                 tuple(a + 1 for a in block.start[:-1]) + (block.stop[-1],))
    evaluate(spec, thin, registry=registry)
    t0 = time.perf_counter()
    evaluate(spec, thin, registry=registry)
    seconds = time.perf_counter() - t0
    n_thin = thin.shape[-1]
    n_block = 1
    for s in block.shape:
        n_block *= s
    return seconds * n_block / n_thin


def _may_grow(client, threads_max: int | None) -> bool:
    """False for a cluster of fixed size whose workers are all up (a LocalCluster without
    adaptive scaling): its window needs no block cost, and timing one would take a core."""
    cluster = getattr(client, "cluster", None)
    if cluster is None or getattr(cluster, "_adaptive", None) is not None:
        return True
    return cluster_threads(client) < (threads_max or 0)


class _BlockCost:
    """:func:`estimate_block_seconds` in a background thread, told to the scheduler when known.

    The first window of blocks goes out at once (two per thread); the estimate, which loads the
    experiments in this process, then sizes the window for the cluster's largest size.
    """

    def __init__(self, spec: ScanSpec, block: Block | None, registry, client) -> None:
        self._args = (spec, block, registry)
        self._client = client
        self._value: float | None = None
        self._thread = threading.Thread(target=self._run, name="nubound-block-cost",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            value = estimate_block_seconds(*self._args)
        except Exception:  # noqa: BLE001 - a sizing hint; the block itself reports failures
            log.warning("could not time a block slice; the window keeps its default size")
            return
        tell_task_duration(self._client, BLOCK_KEY_PREFIX, value)
        log.info("a block takes about %.3g s on one thread", value)
        self._value = value

    def seconds(self) -> float | None:
        """The estimate, or None while it is being measured."""
        return self._value


def run_scan(spec: ScanSpec, client, *, url: str | None = None,
             registry: PhysicsRegistry | None = None, max_in_flight: int | None = None,
             threads_max: int | None = None, retries: int = 3,
             progress: TextIO | None = sys.stderr,
             monitor: ScanMonitor | None = None) -> ScanResult:
    """Run (or resume) ``spec`` on the ``distributed.Client`` ``client``.

    ``threads_max`` is the number of worker threads of the cluster at its largest (an adaptive
    cluster's ``maximum_jobs`` × threads per job): the submission window is sized for it from
    the start. ``max_in_flight`` fixes the window instead. ``monitor``
    (:class:`~nubound.scanner.monitor.ScanMonitor`) is told the start, every block that comes
    back and the end (the Dask dashboard's nubound page). Holds the store's lease throughout
    (a second scan of the store is refused, :class:`~nubound.storage.lease.StoreLease`; a
    lease lost to another writer stops the scan with ``LeaseLostError``) and
    first recomputes damaged blocks (:func:`repair_damaged_blocks`). Returns a
    :class:`ScanResult`; raises if a block still fails after ``retries``.
    """
    if max_in_flight is not None and max_in_flight < 1:
        raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
    prepared = prepare_store(spec, url=url, registry=registry)
    url = prepared[0]
    with StoreLease(url, purpose="scan") as lease:
        repair_damaged_blocks(url, progress)
        token = _PREPARED.set(prepared)
        try:
            return _run_scan(spec, client, url=url, registry=registry,
                             max_in_flight=max_in_flight, threads_max=threads_max,
                             retries=retries, progress=progress, monitor=monitor,
                             lease=lease)
        finally:
            _PREPARED.reset(token)


def _run_scan(spec: ScanSpec, client, *, url: str | None = None,
              registry: PhysicsRegistry | None = None, max_in_flight: int | None = None,
              threads_max: int | None = None, retries: int = 3,
              progress: TextIO | None = sys.stderr,
              monitor: ScanMonitor | None = None,
              lease: StoreLease | None = None) -> ScanResult:
    """The submission loop of :func:`run_scan` (the caller holds ``lease``; a lease taken
    over by another writer stops the loop with :class:`~nubound.storage.lease.LeaseLostError`
    at the next block that returns)."""
    t0 = time.perf_counter()
    url, store_id = prepare_store(spec, url=url, registry=registry)
    link = getattr(client, "dashboard_link", None)
    if progress is not None:
        print(f"nubound scan: dashboard {link}", file=progress, flush=True)
    st.update_attrs(url, dashboard_link=link or "",
                    last_run_utc=datetime.now(UTC).isoformat(timespec="seconds"))
    done = st.done_map(url)
    total, before = int(done.size), int(done.sum())
    todo = plan_blocks(spec.shape, spec.chunks, done)
    first = next(todo, None)
    estimate = _BlockCost(spec, first, registry, client)
    if first is not None:
        # numba kernels: compiled here once, not in every worker at the same time
        seconds = compile_kernels() if registry is None else 0.0
        if progress is not None and seconds > 2.0:
            print(f"nubound scan: compiled the profile kernels in {seconds:.0f} s (numba; "
                  "cached for later runs)", file=progress, flush=True)
        if _may_grow(client, threads_max):
            estimate.start()  # timed while the first blocks already run
    run_id = uuid.uuid4().hex[:8]
    bar = Progress(total, before, progress)
    reports: list[BlockReport] = []
    if monitor is not None:
        monitor.start(spec=spec, url=url, blocks_total=total, blocks_done=before)

    def submit(blocks: list[Block]):
        keys = [f"{BLOCK_KEY_PREFIX}-{run_id}-" + "-".join(map(str, b.index)) for b in blocks]
        return client.map(compute_block, [spec] * len(blocks), blocks, url=url,
                          store_id=store_id, registry=registry, key=keys, retries=retries,
                          pure=False)

    def on_result(report: BlockReport) -> None:
        if lease is not None:
            lease.check()
        reports.append(report)
        bar.update()
        if monitor is not None:
            monitor.block_done(report)

    blocks = [] if first is None else chain([first], todo)
    try:
        dispatch(client, blocks, submit, on_result, threads_max=threads_max,
                 task_s=estimate.seconds, max_in_flight=max_in_flight)
    finally:
        bar.close()
        if monitor is not None:
            monitor.close()
    computed = [r for r in reports if not r.skipped]
    result = ScanResult(
        url=url, blocks_total=total, blocks_done_before=before,
        blocks_computed=len(computed), blocks_skipped=len(reports) - len(computed),
        points_computed=sum(r.n_points for r in computed), wall_s=time.perf_counter() - t0,
        evaluate_s=sum(r.evaluate_s for r in computed), write_s=sum(r.write_s for r in computed),
        task_s=sum(r.total_s for r in reports), load_s=sum(r.load_s for r in computed),
        dashboard_link=link, reports=tuple(reports),
        block_s_estimate=estimate.seconds(),
    )
    log.info("scan of %s: %d blocks computed, %d/%d done (pid %d)", url, len(computed),
             before + len(reports), total, os.getpid())
    if lease is not None:
        lease.check()
    if spec.refine is not None:  # adaptive refinement levels (docs/refinement.md)
        from nubound.scanner.refine import refine_scan_result

        result = refine_scan_result(spec, client, result, store_id=store_id, registry=registry,
                                    threads_max=threads_max, max_in_flight=max_in_flight,
                                    retries=retries, progress=progress, t0=t0,
                                    monitor=monitor, lease=lease)
    return result
