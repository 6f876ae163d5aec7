"""The client's submission loop: prepare the store, submit one task per block not yet done.

- The store is created once from the spec by the client (template + attributes), or, when it
  exists, checked against the spec (a different spec is an error) and resumed.
- At most ``max_in_flight`` tasks are on the scheduler at a time (``as_completed`` window), so
  a 1e5-block scan does not flood it; each task has ``retries``.
- A task (:func:`compute_block`, on a worker) skips a block already marked done, evaluates it
  (pure), writes its region and last its ``done`` cell. A crash at any moment leaves the block
  either complete and marked, or unmarked and recomputed; values are deterministic, so a resumed
  scan equals an uninterrupted one bit for bit, and no done block is written twice.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import TextIO

from nubound.physics.compiled import compile_kernels
from nubound.scanner.catalogue import PhysicsRegistry, default_registry
from nubound.scanner.evaluate import evaluate
from nubound.scanner.monitor import ScanMonitor
from nubound.scanner.plan import Block, plan_blocks
from nubound.scanner.spec import ScanSpec, parse_spec
from nubound.scanner.spec_toml import spec_to_toml
from nubound.storage import store as st

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlockReport:
    """What one task did (seconds of wall time on the worker)."""

    index: tuple[int, ...]
    skipped: bool
    evaluate_s: float = 0.0
    write_s: float = 0.0
    total_s: float = 0.0
    n_points: int = 0


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
    dashboard_link: str | None = None
    reports: tuple[BlockReport, ...] = field(default=(), repr=False)


def compute_block(spec: ScanSpec, block: Block, url: str, store_id: str,
                  registry: PhysicsRegistry | None) -> BlockReport:
    """Worker task: evaluate ``block`` and write it, unless it is already done."""
    t_start = time.perf_counter()
    if st.block_is_done(url, store_id, block):
        return BlockReport(block.index, skipped=True)
    t0 = time.perf_counter()
    results = evaluate(spec, block, registry=registry)
    t1 = time.perf_counter()
    st.write_block(url, store_id, block, results)
    t2 = time.perf_counter()
    n = 1
    for s in block.shape:
        n *= s
    return BlockReport(block.index, False, t1 - t0, t2 - t1, t2 - t_start, n)


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
    if st.store_exists(url):
        store_id = check_same_spec(spec, url, registry=reg)
        log.info("resuming the scan in %s", url)
    else:
        if spec.data == "asimov":
            reg.check_asimov(spec.experiments)
        hashes = reg.data_hashes(spec.experiments)
        store_id = st.create_store(spec, url, spec_toml=spec_to_toml(spec), data_hashes=hashes)
        log.info("created the store %s", url)
    return url, store_id


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


def run_scan(spec: ScanSpec, client, *, url: str | None = None,
             registry: PhysicsRegistry | None = None, max_in_flight: int | None = None,
             retries: int = 3, progress: TextIO | None = sys.stderr,
             monitor: ScanMonitor | None = None) -> ScanResult:
    """Run (or resume) ``spec`` on the ``distributed.Client`` ``client``.

    ``monitor`` (:class:`~nubound.scanner.monitor.ScanMonitor`) is told the start, every block
    that comes back and the end (the Dask dashboard's nubound page).
    Returns a :class:`ScanResult`; raises if a block still fails after ``retries``.
    """
    from distributed import as_completed

    t0 = time.perf_counter()
    url, store_id = prepare_store(spec, url=url, registry=registry)
    link = getattr(client, "dashboard_link", None)
    if progress is not None:
        print(f"nubound scan: dashboard {link}", file=progress, flush=True)
    st.update_attrs(url, dashboard_link=link or "",
                    last_run_utc=datetime.now(UTC).isoformat(timespec="seconds"))
    done = st.done_map(url)
    total, before = int(done.size), int(done.sum())
    # numba kernels: compiled here once, not in every worker at the same time
    seconds = compile_kernels() if registry is None and before < total else 0.0
    if progress is not None and seconds > 2.0:
        print(f"nubound scan: compiled the profile kernels in {seconds:.0f} s (numba; cached "
              "for later runs)", file=progress, flush=True)
    todo = plan_blocks(spec.shape, spec.chunks, done)
    if max_in_flight is None:
        max_in_flight = max(4, 2 * sum(client.nthreads().values()))
    run_id = uuid.uuid4().hex[:8]
    bar = Progress(total, before, progress)
    if monitor is not None:
        monitor.start(spec=spec, url=url, blocks_total=total, blocks_done=before)

    def submit(block: Block):
        key = f"nubound-block-{run_id}-" + "-".join(map(str, block.index))
        return client.submit(compute_block, spec, block, url, store_id, registry,
                             key=key, retries=retries, pure=False)

    window = as_completed([submit(b) for b in islice(todo, max_in_flight)])
    reports = []
    try:
        for future in window:
            report = future.result()
            future.release()
            reports.append(report)
            bar.update()
            if monitor is not None:
                monitor.block_done(report)
            nxt = next(todo, None)
            if nxt is not None:
                window.add(submit(nxt))
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
        task_s=sum(r.total_s for r in reports), dashboard_link=link, reports=tuple(reports),
    )
    log.info("scan of %s: %d blocks computed, %d/%d done (pid %d)", url, len(computed),
             before + len(reports), total, os.getpid())
    return result
