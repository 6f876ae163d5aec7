"""What a scan's submission loop tells an observer (the Dask dashboard page, a progress log).

:func:`nubound.scanner.run.run_scan` takes an optional ``monitor``; the loop calls
``start`` once the store is prepared, ``block_done`` for every block that comes back and
``close`` when it leaves (also on errors). A monitor must be cheap and must never raise into the
scan: the dashboard's (:class:`nubound.jobs.dashboard.monitor.DashboardMonitor`) only counts and
wakes a thread of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from nubound.scanner.run import BlockReport
    from nubound.scanner.spec import ScanSpec


@runtime_checkable
class ScanMonitor(Protocol):
    """Observer of one run of a scan (all methods are called from the client's thread)."""

    def start(self, *, spec: ScanSpec, url: str, blocks_total: int, blocks_done: int,
              level: int | None = None) -> None:
        """The store at ``url`` is ready; ``blocks_done`` of ``blocks_total`` were done before.

        ``level``: the refinement level of this pass, when the scan refines its grid.
        """

    def block_done(self, report: BlockReport) -> None:
        """One block came back (computed, or skipped because it was already done)."""

    def close(self) -> None:
        """The loop ended (every block done, or an error is on its way up)."""
