"""Preload module of the nubound page: ``dask scheduler --preload nubound.jobs.dashboard.preload``.

Imported by the scheduler before it starts its dashboard, it adds ``/individual-nubound`` to
distributed's table of dashboard applications (so the page is listed under "More…" and in the
JupyterLab Dask panel, ``/individual-plots.json``); ``dask_setup`` then adds the
:class:`~nubound.jobs.dashboard.plugin.NuboundDashboard` plugin, which serves ``/nubound``.
LocalCluster takes it as ``scheduler_kwargs={"preload": [...]}``, dask-jobqueue as
``scheduler_options={"preload": [...]}`` (:func:`scheduler_preload`).
"""

from __future__ import annotations

from distributed.dashboard.scheduler import applications

from nubound.jobs.dashboard.plugin import NuboundDashboard, individual_doc

MODULE = __name__
INDIVIDUAL_PAGE = "/individual-nubound"

applications.setdefault(INDIVIDUAL_PAGE, individual_doc)


def scheduler_preload() -> dict[str, list[str]]:
    """Scheduler keyword arguments that load the nubound page: ``{"preload": [MODULE]}``."""
    return {"preload": [MODULE]}


def dask_setup(scheduler) -> None:
    """Called by distributed when the scheduler starts (after its dashboard is up)."""
    scheduler.add_plugin(NuboundDashboard(), idempotent=True)
