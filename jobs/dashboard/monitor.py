"""The scan driver's side of the nubound page: summarise the store in a thread, push it.

:class:`DashboardMonitor` is a :class:`~nubound.scanner.monitor.ScanMonitor`. ``block_done``
only wakes its thread; the thread reads the store (in the driver's process, never on the
scheduler), builds the summary (:func:`~nubound.jobs.dashboard.summary.read_summary`) at most
every ``interval_s`` seconds (and no more than a tenth of the time: a large store is read less
often) and sends it to the scheduler's ``nubound_dashboard_update`` handler. If the scheduler
has no nubound plugin yet it is registered with ``Client.register_plugin``. Nothing here may
break a scan: errors are logged and the page simply stops updating.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, TextIO

from nubound.jobs.dashboard.plugin import HANDLER, PAGE, NuboundDashboard
from nubound.jobs.dashboard.summary import Throughput, read_summary

log = logging.getLogger(__name__)


def page_link(dashboard_link: str | None) -> str | None:
    """``http://host:port/nubound`` from the client's ``dashboard_link`` (``.../status``)."""
    if not dashboard_link:
        return None
    base = dashboard_link.rsplit("/status", 1)[0] if dashboard_link.endswith("/status") \
        else dashboard_link.rstrip("/")
    return base + PAGE


class DashboardMonitor:
    """Push the scan's summary to the scheduler's nubound page as blocks land."""

    def __init__(self, client, *, interval_s: float = 1.0, stream: TextIO | None | bool = True,
                 register: bool = True) -> None:
        self.client = client
        self.interval_s = interval_s
        # True: the process's stderr when the scan starts (not the one of import time)
        self.stream = stream
        self.register = register
        self.url: str | None = None
        self.level: int | None = None
        self.pushes = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._throughput = Throughput()
        self._reset = True
        self._warned = False

    def start(self, *, spec: Any = None, url: str, blocks_total: int = 0, blocks_done: int = 0,
              level: int | None = None) -> None:
        """Register the plugin if needed, print the page's address, start the thread."""
        self.url, self.level = url, level
        if self.register:
            try:
                self.client.register_plugin(NuboundDashboard())
            except Exception as exc:  # an old scheduler, pickling disabled, ...
                log.warning("nubound dashboard page not available: %s", exc)
        link = page_link(getattr(self.client, "dashboard_link", None))
        stream = sys.stderr if self.stream is True else self.stream
        if link and stream:
            print(f"nubound scan: live limits at {link}", file=stream, flush=True)
        self._stop.clear()
        self._wake.set()
        self._thread = threading.Thread(target=self._run, name="nubound-dashboard-monitor",
                                        daemon=True)
        self._thread.start()

    def block_done(self, report: Any) -> None:
        """A block came back: the thread will summarise soon."""
        self._wake.set()

    def close(self) -> None:
        """Stop the thread after a last summary (the page then shows the final state)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(60)
            self._thread = None

    def push_now(self) -> dict[str, Any] | None:
        """Summarise the store and send it; returns the summary (None when that failed)."""
        try:
            summary = read_summary(self.url, throughput=self._throughput)
            if self.level is not None:
                summary["level"] = self.level
            self.client.sync(getattr(self.client.scheduler, HANDLER), summary=summary,
                             reset=self._reset)
        except Exception as exc:
            if not self._warned:
                log.warning("nubound dashboard: summary not pushed (%s: %s)",
                            type(exc).__name__, exc)
                self._warned = True
            return None
        self._reset = False
        self.pushes += 1
        return summary

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            stopping = self._stop.is_set()
            t0 = time.monotonic()
            self.push_now()
            if stopping:
                return
            spent = time.monotonic() - t0
            self._stop.wait(max(self.interval_s - spent, 9.0 * spent))
