"""A scan in this process, block after block, without Dask: for tests, golden values and the
validation report, where a cluster's start would cost more than the scan.

It writes the same store as :func:`nubound.scanner.run.run_scan` (same template, the same
:func:`~nubound.scanner.run.compute_block` per block, so it resumes and skips blocks the same
way); only the scheduling differs (see `docs/design.md#data-flow`).
"""

from __future__ import annotations

from nubound.scanner.catalogue import PhysicsRegistry
from nubound.scanner.plan import plan_blocks
from nubound.scanner.run import compute_block, prepare_store
from nubound.scanner.spec import ScanSpec
from nubound.storage import store as st


def run_serial(spec: ScanSpec, url: str, *, registry: PhysicsRegistry | None = None) -> int:
    """Scan (or resume) ``spec`` into the store at ``url`` in this process; returns the number
    of blocks computed."""
    url, store_id = prepare_store(spec, url=url, registry=registry)
    computed = 0
    for block in plan_blocks(spec.shape, spec.chunks, st.done_map(url)):
        computed += not compute_block(spec, block, url, store_id, registry).skipped
    return computed
