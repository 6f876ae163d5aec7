"""The scheduler side of the nubound page: a ``SchedulerPlugin`` that serves ``/nubound``.

distributed has no public API for dashboard pages (dask/distributed#2790: use a preload or a
plugin). :class:`NuboundDashboard`, when it starts on a scheduler:

- registers the scheduler handler ``nubound_dashboard_update(summary, reset)`` through which
  the scan driver pushes small summaries (:mod:`nubound.jobs.dashboard.summary`); the
  scheduler itself never reads the store;
- adds its own Bokeh application serving ``/nubound`` to the scheduler's HTTP server (the
  dashboard's port, its TLS settings) and the link ``Nubound`` to the navigation bar of every
  dashboard page;
- counts, from task transitions, the scan block tasks (keys ``nubound-block-*``) that raised and
  were run again by Dask's ``retries`` and those that failed for good (a block re-run because
  its worker died is not counted).

It is loaded by the preload module :mod:`nubound.jobs.dashboard.preload` (LocalCluster,
dask-jobqueue, ``dask scheduler --preload``) or by ``Client.register_plugin`` (what
:class:`~nubound.jobs.dashboard.monitor.DashboardMonitor` does when the scheduler lacks it).
Tested with distributed 2026.8 and bokeh 3.9 (internal APIs: ``BokehApplication``,
``template_variables``, ``http_application.add_application``).
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

log = logging.getLogger(__name__)

NAME = "nubound-dashboard"
PAGE = "/nubound"
HANDLER = "nubound_dashboard_update"
BLOCK_KEY_PREFIX = "nubound-block-"
_SERVED: weakref.WeakSet = weakref.WeakSet()  # schedulers whose HTTP server has the page


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) else str(key)


class NuboundDashboard(SchedulerPlugin):
    """Holds the latest pushed summary and the retry/failure counts; serves ``/nubound``."""

    name = NAME
    idempotent = True

    def __init__(self) -> None:
        self.summary: dict[str, Any] | None = None
        self.retried = 0
        self.failed = 0
        self.failed_blocks: list[str] = []
        self._latest: dict[str, Any] | None = None

    async def start(self, scheduler) -> None:
        scheduler.handlers[HANDLER] = self.update
        add_page(scheduler)

    def update(self, summary: dict[str, Any], reset: bool = False) -> str:
        """Scheduler handler: store the driver's summary (``reset``: a new run starts)."""
        if reset:
            self.retried, self.failed, self.failed_blocks = 0, 0, []
        self.summary = dict(summary)
        self._latest = None
        return "OK"

    def transition(self, key, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        text = _key_text(key)
        if not text.startswith(BLOCK_KEY_PREFIX):
            return
        stimulus = str(kwargs.get("stimulus_id", ""))
        if start == "processing" and finish in ("released", "waiting") \
                and stimulus.startswith("task-erred"):  # it raised, and Dask runs it again
            self.retried += 1
        elif finish == "erred" and start == "processing":
            self.failed += 1
            self.failed_blocks.append(text.removeprefix(BLOCK_KEY_PREFIX))
        else:
            return
        self._latest = None

    def latest(self) -> dict[str, Any] | None:
        """The summary with the scheduler's counts merged in (the same object until either
        changes, so the page redraws only on news)."""
        if self.summary is None:
            return None
        if self._latest is None:
            self._latest = self.summary | {"retried": self.retried, "failed": self.failed,
                                           "failed_blocks": list(self.failed_blocks)}
        return self._latest


def _latest_of(scheduler):
    def latest():
        plugin = scheduler.plugins.get(NAME)
        return plugin.latest() if isinstance(plugin, NuboundDashboard) else None
    return latest


def page_doc(scheduler, extra: dict, doc) -> None:
    """Bokeh app function of ``/nubound`` in the dashboard's page template."""
    from distributed.dashboard.components.scheduler import env

    from nubound.jobs.dashboard.document import build_document

    build_document(doc, _latest_of(scheduler), title="Dask: nubound")
    doc.template = env.get_template("simple.html")
    doc.template_variables.update(extra)


def individual_doc(scheduler, extra: dict, doc) -> None:
    """The same page without the dashboard's frame (``/individual-nubound``, JupyterLab)."""
    from nubound.jobs.dashboard.document import build_document

    build_document(doc, _latest_of(scheduler), title="nubound")


def add_page(scheduler) -> None:
    """Serve ``/nubound`` from the scheduler's HTTP server and link it from the navigation."""
    if scheduler in _SERVED or getattr(scheduler, "http_application", None) is None:
        return
    from distributed.dashboard.core import BokehApplication
    from distributed.dashboard.scheduler import template_variables
    from tornado.ioloop import IOLoop

    variables = template_variables(scheduler)
    app = BokehApplication({PAGE: page_doc}, scheduler, prefix="",
                           template_variables=variables)
    scheduler.http_application.add_application(app)
    app.initialize(IOLoop.current())
    app.start()
    if PAGE.strip("/") not in variables["pages"]:
        variables["pages"].append(PAGE.strip("/"))
    _SERVED.add(scheduler)
    log.debug("nubound page %s added to the dashboard on port %s", PAGE,
             getattr(scheduler.http_server, "port", "?"))
