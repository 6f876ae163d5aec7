"""Preload module of the nubound page: ``dask scheduler --preload nubound.jobs.dashboard.preload``.

Imported by the scheduler before it starts its dashboard, it adds ``/individual-nubound`` to
distributed's table of dashboard applications (so the page is listed under "More…" and in the
JupyterLab Dask panel, ``/individual-plots.json``); ``dask_setup`` then adds the
:class:`~nubound.jobs.dashboard.plugin.NuboundDashboard` plugin, which serves ``/nubound``.
LocalCluster takes it as ``scheduler_kwargs={"preload": [...]}``, dask-jobqueue as
``scheduler_options={"preload": [...]}`` (:func:`scheduler_preload`).
"""

from __future__ import annotations

import dask
from distributed.dashboard.scheduler import applications

from nubound.jobs.dashboard.plugin import NuboundDashboard, individual_doc

MODULE = __name__
INDIVIDUAL_PAGE = "/individual-nubound"

applications.setdefault(INDIVIDUAL_PAGE, individual_doc)


def scheduler_preload(tls=None) -> dict[str, list[str]]:
    """Scheduler keyword arguments that load the nubound page: ``{"preload": [MODULE]}``.

    With ``tls`` (a profile's :class:`~nubound.jobs.clusters.TLSSettings`) the dashboard of
    schedulers started in this process, the nubound page included, is served over HTTPS with
    the profile's certificate: the setting is made process-wide
    (``distributed.scheduler.dashboard.tls.*``) so that dashboard links say ``https`` too.
    """
    if tls is not None:
        dask.config.set({"distributed.scheduler.dashboard.tls.cert": tls.cert_file,
                         "distributed.scheduler.dashboard.tls.key": tls.key_file,
                         "distributed.scheduler.dashboard.tls.ca-file": tls.ca_file})
    return {"preload": [MODULE]}


def dask_setup(scheduler) -> None:
    """Called by distributed when the scheduler starts (after its dashboard is up)."""
    scheduler.add_plugin(NuboundDashboard(), idempotent=True)
