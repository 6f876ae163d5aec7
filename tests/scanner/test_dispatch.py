"""The elastic submission window (scanner/dispatch.py) and the scan options that steer it."""

from __future__ import annotations

import argparse
import time

import pytest

from nubound.jobs.scan import add_scan_commands
from nubound.jobs.submit import add_submit_commands
from nubound.scanner.dispatch import dispatch, tell_task_duration, window_size


def _sleep_then_worker(seconds: float) -> str:
    from distributed import get_worker

    time.sleep(seconds)
    return get_worker().address


def test_window_size_covers_the_cluster_at_its_largest():
    assert window_size(0, None, None) == 4  # nothing known: a small start
    assert window_size(8, None, None) == 16  # two per thread present
    assert window_size(2, 64, None) == 128  # sized for the maximum, not the present
    # enough queued work for adaptive scaling (work / 5 s) to ask for all 64 threads
    size = window_size(0, 64, 0.5)
    assert size * 0.5 / 5.0 >= 64
    assert window_size(0, 10**6, 1e-3) == 10_000  # the scheduler-memory cap


def test_the_scheduler_learns_the_block_duration_before_any_block_ran():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        assert tell_task_duration(client, "nubound-test-block", 3.5)
        future = client.submit(_sleep_then_worker, 0.0, key="nubound-test-block-ab12cd34-0")
        time.sleep(0.5)  # no worker: the task waits on the scheduler

        def expected(dask_scheduler):
            prefix = dask_scheduler.tasks["nubound-test-block-ab12cd34-0"].prefix
            return dask_scheduler._get_prefix_duration(prefix)

        assert client.run_on_scheduler(expected) == pytest.approx(3.5)
        future.cancel()


def test_an_adaptive_cluster_grows_to_its_maximum():
    """Adaptive cluster from zero workers, at most two: with the block cost told and the window
    sized for two threads, Dask starts both workers and both compute. (A fixed window of
    4 blocks shows adaptive 4 × 0.5 s of work, below one target duration: one worker.)"""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=0, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        cluster.adapt(minimum=0, maximum=2, interval="200ms", wait_count=50)
        tell_task_duration(client, "sleep-block", 0.5)
        seen: list[str] = []
        n = dispatch(client, range(24),
                     lambda batch: client.map(_sleep_then_worker, [0.3] * len(batch),
                                              key=[f"sleep-block-ab12cd34-{i}" for i in batch]),
                     seen.append, threads_max=2, task_s=0.5)
    assert n == 24
    counts = {w: seen.count(w) for w in set(seen)}
    assert len(counts) == 2, counts
    assert min(counts.values()) >= 6, counts


def test_dispatch_hands_over_every_result_once_through_a_small_window():
    from distributed import Client, LocalCluster

    in_flight: list[int] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        def submit(batch):
            in_flight.append(len(batch))
            return client.map(abs, [-i for i in batch], pure=False)

        out: list[int] = []
        assert dispatch(client, range(50), submit, out.append, max_in_flight=3) == 50
    assert sorted(out) == list(range(50))
    assert in_flight[0] == 3 and max(in_flight) <= 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_scan_commands(sub)
    add_submit_commands(sub)
    return parser


@pytest.mark.parametrize("argv", [["scan", "c.toml", "--workers", "0"],
                                  ["scan", "c.toml", "--max-in-flight", "0"],
                                  ["submit", "c.toml", "--cluster", "slurm",
                                   "--max-in-flight", "-2"],
                                  ["scan", "c.toml", "--max-in-flight", "many"]])
def test_counts_below_one_are_refused_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "expected an integer >= 1" in err


def test_scan_and_submit_take_the_same_scan_options():
    parser = _parser()
    common = ["--store", "x.zarr", "--live-view", "127.0.0.1:8050", "--max-in-flight", "7"]
    scan = parser.parse_args(["scan", "c.toml", "--cluster", "slurm", *common])
    submit = parser.parse_args(["submit", "c.toml", "--cluster", "slurm", *common])
    for name in ("config", "cluster", "store", "live_view", "max_in_flight"):
        assert getattr(scan, name) == getattr(submit, name), name
    assert submit.max_in_flight == 7
