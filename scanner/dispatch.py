"""Elastic submission: keep as many tasks on the scheduler as the cluster can use, no more.

A scan (or a calibration) is a long list of independent block tasks. Submitting all of them at
once costs the scheduler ≈ 3.5 kB per task (1e5 blocks: 340 MB, and 20 s before the scheduler
has registered them; measured, see ``docs/design.md#submission``) and grows without bound
with the grid, so tasks go out through a window. The window has to be large enough for two
readers of the scheduler's queue:

- the workers, which idle when fewer than ≈ 2 tasks per thread are queued;
- Dask's adaptive scaling (``Scheduler.adaptive_target``), which asks for ``queued work /
  target_duration`` threads, and never for more threads than there are tasks. A window of
  4 blocks keeps an adaptive cluster at one job, whatever its ``maximum_jobs``.

So the window holds ``max(4, 2 T, 2 T · target_duration / block_s)`` tasks, where ``T`` is the
number of threads of the cluster at its *largest* size (the profile's ``maximum_jobs`` × cores,
or the threads present, whichever is more, re-evaluated as workers join) and ``block_s`` the
measured cost of one block (Dask's 0.5 s for an unseen task until it is known, which is what
the scheduler's adaptive target assumes too), which the scheduler is also told
(:func:`tell_task_duration`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

# Scheduler memory guard: at most this many tasks of one scan on the scheduler at once
# (≈ 3.5 kB each there, so ≈ 35 MB).
MAX_WINDOW = 10_000


def cluster_threads(client) -> int:
    """Threads of the workers connected now (0 while an adaptive cluster has none)."""
    return int(sum(client.nthreads().values()))


def window_size(threads_now: int, threads_max: int | None, task_s: float | None, *,
                target_duration_s: float = 5.0, cap: int = MAX_WINDOW) -> int:
    """Tasks to keep on the scheduler (see the module docstring).

    Examples
    --------
    >>> window_size(2, None, None)
    4
    >>> window_size(0, 16, 0.5)   # an adaptive cluster of up to 16 threads, 0.5 s blocks
    320
    """
    threads = max(threads_now, threads_max or 0, 1)
    size = max(4, 2 * threads)
    if task_s is not None and task_s > 0:
        size = max(size, math.ceil(2 * threads * target_duration_s / task_s))
    return min(size, cap)


def _set_default_duration(prefix: str, seconds: float, dask_scheduler=None) -> None:
    import dask

    durations = dict(dask.config.get("distributed.scheduler.default-task-durations", {}))
    durations[prefix] = f"{seconds}s"
    dask.config.set({"distributed.scheduler.default-task-durations": durations})
    existing = dask_scheduler.task_prefixes.get(prefix)
    if existing is not None and existing.duration_average < 0:
        existing.duration_average = seconds


def tell_task_duration(client, prefix: str, seconds: float) -> bool:
    """Tell the scheduler that tasks whose keys start with ``prefix`` take ``seconds``.

    Sets ``distributed.scheduler.default-task-durations`` in the scheduler's process (and the
    prefix's running estimate if it has none yet). Returns False if the scheduler refused
    (e.g. ``distributed.scheduler.pickle`` off): the scan then runs with Dask's default.
    """
    try:
        client.run_on_scheduler(_set_default_duration, prefix, float(seconds))
    except Exception:  # noqa: BLE001 - a hint, never a reason to fail a scan
        return False
    return True


def unknown_task_duration() -> float:
    """Seconds the scheduler assumes for a task it has not seen run (Dask's default 0.5 s)."""
    import dask
    from dask.utils import parse_timedelta

    return float(parse_timedelta(
        dask.config.get("distributed.scheduler.unknown-task-duration", "500ms")))


def adaptive_target_duration(client) -> float:
    """The cluster's adaptive ``target_duration`` in seconds (Dask's default, 5 s, if unknown)."""
    import dask
    from dask.utils import parse_timedelta

    cluster = getattr(client, "cluster", None)
    adaptive = getattr(cluster, "_adaptive", None)
    value = getattr(adaptive, "target_duration", None)
    if value is None:
        value = dask.config.get("distributed.adaptive.target-duration", "5s")
    return float(parse_timedelta(value))


def dispatch(client, items: Iterable[Any], submit: Callable[[list[Any]], list[Any]],
             on_result: Callable[[Any], None], *, threads_max: int | None = None,
             task_s: float | Callable[[], float | None] | None = None,
             max_in_flight: int | None = None) -> int:
    """Submit ``items`` through an elastic window and hand every result to ``on_result``.

    ``submit(batch)`` turns a list of items into futures (e.g. one ``client.map``);
    ``on_result`` gets each task's result in completion order. ``task_s`` (seconds per task) may
    be a callable, asked at every refill, for an estimate that arrives while tasks run.
    ``max_in_flight`` fixes the
    window; by default it follows :func:`window_size` and grows as workers join. A task that
    still fails after its retries raises here. Returns the number of tasks completed.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster, \\
    ...         Client(cluster) as client:
    ...     out = []
    ...     n = dispatch(client, range(10), lambda b: client.map(abs, b, pure=False), out.append)
    >>> n, sorted(out) == list(range(10))
    (10, True)
    """
    from distributed import as_completed

    if max_in_flight is not None and max_in_flight < 1:
        raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
    target_s = adaptive_target_duration(client)

    unknown_s = unknown_task_duration()

    def wanted() -> int:
        if max_in_flight is not None:
            return max_in_flight
        seconds = task_s() if callable(task_s) else task_s
        # until the cost is known, size for what the scheduler assumes (its adaptive target
        # counts unknown tasks at that duration), so the first adaptive round sees enough work
        return window_size(cluster_threads(client), threads_max, seconds or unknown_s,
                           target_duration_s=target_s)

    todo: Iterator[Any] = iter(items)
    size = wanted()
    first = list(islice(todo, size))
    window = as_completed(submit(first) if first else [])
    in_flight, completed, exhausted = len(first), 0, len(first) < size
    for batch in window.batches():
        for future in batch:
            result = future.result()
            future.release()
            in_flight -= 1
            completed += 1
            on_result(result)
        room = wanted() - in_flight
        if not exhausted and room > 0:
            more = list(islice(todo, room))
            exhausted = len(more) < room
            if more:
                window.update(submit(more))
                in_flight += len(more)
    return completed
