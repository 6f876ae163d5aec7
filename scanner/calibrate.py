"""Feldman–Cousins calibration of a scan store on Dask (docs/feldman-cousins.md).

For each *target* (experiments combined, quenching profiled or fixed) the client picks the grid
points to calibrate from the store's χ² (by default those whose Wilks Δχ² along their grid line
lies within a band around each threshold, ``--region near-limit``; or ``all``), records them in
the store (``storage.calibration``) and submits one task per block of points through the same
elastic window, retries and progress as scans (:func:`nubound.scanner.dispatch.dispatch`). A
task (:func:`compute_calibration_block`) skips a block already done, generates the toys of its
points and profiles each toy over the point's whole grid line with the experiments' batched
kernels (``statistics.neyman.toy_test_statistics``), writes the block's t values and last its
done cell. Every point draws from its own ``SeedSequence`` (store id, flat point index,
experiment), so a killed and resumed — or repeated — calibration writes the same bytes whatever
the order in which blocks ran. When all blocks are done the client stores the critical values.

The grid line of a point is the shown parameter with the others fixed: the coupling at fixed
mass for mediator grids (mass × coupling), the only axis of one-parameter grids.
"""

from __future__ import annotations

import sys
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

import numpy as np
from scipy import stats

from nubound.physics.errors import ConfigError
from nubound.physics.statistics.neyman import (
    ToyPart,
    critical_value,
    critical_value_band,
    toy_test_statistics,
)
from nubound.scanner.catalogue import PhysicsRegistry, default_registry
from nubound.scanner.dispatch import dispatch
from nubound.scanner.evaluate import block_parameters
from nubound.scanner.plan import Block
from nubound.scanner.run import Progress
from nubound.scanner.spec import ScanSpec, parse_spec
from nubound.storage import calibration as cal
from nubound.storage import store as st
from nubound.storage.lease import StoreLease

REGIONS = ("near-limit", "all")
DEFAULT_BAND = (0.5, 2.0)  # near-limit: Wilks Δχ² within [0.5, 2] × chi2.ppf(cl, 1)
CALIBRATION_KEY_PREFIX = "nubound-fc"


@dataclass(frozen=True)
class CalibrationTarget:
    """Experiments combined (χ² summed) and their quenching: ``"profile"``, one choice name,
    or ``"exp=choice,..."`` (the syntax of ``nubound limits --quenching``)."""

    experiments: tuple[str, ...]
    quenching: str = "profile"

    @property
    def quenching_map(self) -> str | dict[str, str]:
        """The quenching as ``storage.limits`` takes it."""
        if "=" not in self.quenching:
            return self.quenching
        return dict(item.split("=", 1) for item in self.quenching.split(","))

    @property
    def key(self) -> str:
        """The target's group in the store (``storage.calibration.target_key``)."""
        return cal.target_key(self.experiments, self.quenching_map)

    def choice_for(self, experiment: str) -> str:
        """``"profile"`` or the fixed choice of one experiment."""
        q = self.quenching_map
        return q if isinstance(q, str) else q.get(experiment, "profile")


def parse_target(text: str) -> CalibrationTarget:
    """``exp1,exp2`` or ``exp1,exp2@QUENCHING`` (e.g. ``dresden_ii@ybe``)."""
    names, _, quenching = text.partition("@")
    experiments = tuple(e.strip() for e in names.split(",") if e.strip())
    if not experiments:
        raise ConfigError(f"--target: no experiment in '{text}'; expected EXP[,EXP...][@Q]")
    return CalibrationTarget(experiments, quenching.strip() or "profile")


def default_targets(spec: ScanSpec) -> list[CalibrationTarget]:
    """Each experiment alone, and all combined (quenching profiled)."""
    out = [CalibrationTarget((e,)) for e in spec.experiments]
    if len(spec.experiments) > 1:
        out.append(CalibrationTarget(tuple(spec.experiments)))
    return out


def line_axis(spec: ScanSpec) -> int:
    """Index of the shown axis along which t = χ² − min is taken (module docstring)."""
    names = spec.axis_names
    masses = [i for i, n in enumerate(names) if n.startswith("mass")]
    if len(names) == 1:
        return 0
    if len(names) == 2 and len(masses) == 1:
        return 1 - masses[0]
    raise ConfigError(
        f"calibrate: axes {list(names)}: calibration needs one shown parameter per grid line "
        "(one axis, or a mass axis and a coupling axis)")


def check_target(spec: ScanSpec, target: CalibrationTarget) -> None:
    """Raise ConfigError for experiments or quenching choices the store does not have."""
    for e in target.experiments:
        if e not in spec.experiments:
            raise ConfigError(f"--target: '{e}' is not in the store; allowed: "
                              + ", ".join(spec.experiments))
        choice = target.choice_for(e)
        choices = spec.quenching_for(e)
        if choice != "profile" and choices and choice not in choices:
            raise ConfigError(f"--target: quenching '{choice}' is not a choice of {e}; "
                              f"allowed: profile, {', '.join(choices)}")


def select_points(chi2: np.ndarray, axis: int, cls: Sequence[float], region: str,
                  band: tuple[float, float] = DEFAULT_BAND,
                  max_per_line: int | None = None) -> np.ndarray:
    """Grid indices (n, ndim) of the points to calibrate, in C order of the grid.

    ``near-limit``: Δχ² = χ² − min along ``axis`` within ``band`` × chi2.ppf(cl, 1) for some
    cl; ``all``: every point. ``max_per_line`` keeps, on each grid line, only the points
    whose Δχ² lies closest to a threshold (ties: the lower index).
    """
    if region not in REGIONS:
        raise ConfigError(f"--region: '{region}' not allowed; allowed: {', '.join(REGIONS)}")
    if np.isnan(chi2).any():
        raise ConfigError("calibrate: the scan is incomplete (NaN χ²); finish it first "
                          "(rerun `nubound scan`: it resumes)")
    if region == "all":
        mask = np.ones(chi2.shape, dtype=bool)
    else:
        delta = chi2 - chi2.min(axis=axis, keepdims=True)
        mask = np.zeros(chi2.shape, dtype=bool)
        for cl in cls:
            level = float(stats.chi2.ppf(cl, 1))
            mask |= (delta >= band[0] * level) & (delta <= band[1] * level)
    if max_per_line is not None and region == "near-limit":
        levels = np.array([stats.chi2.ppf(cl, 1) for cl in cls])
        distance = np.min(np.abs(delta[..., None] - levels), axis=-1)
        distance = np.moveaxis(np.where(mask, distance, np.inf), axis, -1)
        rank = np.argsort(np.argsort(distance, axis=-1, kind="stable"), axis=-1)
        mask &= np.moveaxis(rank < max_per_line, -1, axis)
    return np.argwhere(mask).astype(np.int64)


def point_generators(store_id: str, flat_index: int,
                     experiments: Sequence[str]) -> list[np.random.Generator]:
    """One generator per experiment at one grid point (``storage.calibration.SEED_SCHEME``)."""
    entropy = int(store_id, 16)
    return [np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        entropy, spawn_key=(int(flat_index), zlib.crc32(e.encode()))))) for e in experiments]


def line_parts(spec: ScanSpec, target: CalibrationTarget, point: Sequence[int], axis: int,
               registry: PhysicsRegistry) -> list[ToyPart]:
    """The target's experiments with their signals along the point's grid line."""
    start = [int(i) for i in point]
    stop = [i + 1 for i in start]
    start[axis], stop[axis] = 0, spec.shape[axis]
    params = block_parameters(spec, Block((0,) * len(start), tuple(start), tuple(stop)))
    model = registry.get_model(spec.model.name)
    parts = []
    for name in target.experiments:
        experiment = registry.get_experiment(name)
        choice = target.choice_for(name)
        choices = spec.quenching_for(name) or (None,)
        if choice != "profile" and choices != (None,):
            choices = (choice,)
        signals = [np.asarray(model.signal_counts(experiment, q, params), dtype=float)
                   .reshape(spec.shape[axis], -1) for q in choices]
        parts.append(ToyPart(experiment, np.stack(signals)))
    return parts


@dataclass(frozen=True)
class CalibrationTask:
    """One block of points of one target (what a worker needs)."""

    target: CalibrationTarget
    block: int
    points: np.ndarray  # (m, ndim) grid indices
    n_toys: int


@dataclass(frozen=True)
class CalibrationReport:
    """What one task did."""

    key: str
    block: int
    skipped: bool
    n_points: int = 0
    n_toys: int = 0
    seconds: float = 0.0


def compute_calibration_block(spec: ScanSpec, task: CalibrationTask, url: str, store_id: str,
                              registry: PhysicsRegistry | None) -> CalibrationReport:
    """Worker task: the toys' t of every point of the block, written, then marked done."""
    t0 = time.perf_counter()
    key = task.target.key
    if cal.block_is_done(url, store_id, key, task.block):
        return CalibrationReport(key, task.block, True)
    reg = registry or default_registry()
    axis = line_axis(spec)
    t = np.empty((len(task.points), task.n_toys))
    for i, point in enumerate(task.points):
        parts = line_parts(spec, task.target, point, axis, reg)
        flat = int(np.ravel_multi_index(tuple(point), spec.shape))
        rngs = point_generators(store_id, flat, task.target.experiments)
        t[i] = toy_test_statistics(parts, int(point[axis]), task.n_toys, rngs)
    cal.write_block(url, store_id, key, task.block, t)
    return CalibrationReport(key, task.block, False, len(task.points),
                             len(task.points) * task.n_toys, time.perf_counter() - t0)


@dataclass(frozen=True)
class CalibrationResult:
    """Summary of one run of :func:`run_calibration`."""

    url: str
    targets: dict[str, dict]
    blocks_computed: int
    blocks_skipped: int
    toys_computed: int
    wall_s: float
    task_s: float
    reports: tuple[CalibrationReport, ...] = field(default=(), repr=False)


def store_spec(url: str, registry: PhysicsRegistry | None = None) -> tuple[ScanSpec, str]:
    """The scan spec and store id of the store at ``url``."""
    attrs = st.read_attrs(url)
    if "spec_toml" not in attrs or "store_id" not in attrs:
        raise ConfigError(f"{url} is not a complete nubound scan store")
    return parse_spec(attrs["spec_toml"], registry=registry, source=f"{url} attrs"), \
        attrs["store_id"]


def plan_calibration(url: str, spec: ScanSpec, store_id: str, target: CalibrationTarget, *,
                     n_toys: int, cls: Sequence[float], region: str, band: tuple[float, float],
                     points_per_block: int, max_per_line: int | None = None
                     ) -> list[CalibrationTask]:
    """Create (or check, on resume) the target's calibration; return the tasks not yet done."""
    from nubound.storage.limits import combined_chi2

    check_target(spec, target)
    axis = line_axis(spec)
    ds = st.open_store(url)
    chi2 = combined_chi2(ds, list(target.experiments), target.quenching_map)
    chi2 = np.asarray(chi2.transpose(*spec.axis_names).values, dtype=float)
    points = select_points(chi2, axis, cls, region, band, max_per_line)
    cal.create_calibration(url, target.key, points=points, n_toys=n_toys,
                           points_per_block=points_per_block, attrs={
                               "experiments": list(target.experiments),
                               "quenching": target.quenching, "line_axis":
                               spec.axis_names[axis], "axes": list(spec.axis_names),
                               "region": region, "band": list(band), "store_id": store_id,
                               "max_per_line": max_per_line,
                               "created_utc": datetime.now(UTC).isoformat(timespec="seconds")})
    done = cal.done_map(url, target.key)
    return [CalibrationTask(target, b, points[b * points_per_block:(b + 1) * points_per_block],
                            n_toys) for b in range(done.size) if not done[b]]


def finish_calibration(url: str, key: str, cls: Sequence[float]) -> dict:
    """Critical values of a completely done target (client); returns a summary."""
    data = cal.read_calibration(url, key)
    if not data["done"].all():
        raise RuntimeError(f"calibration {key}: blocks missing after the run")
    t = data["t_toys"]
    if t.shape[0] == 0:
        crit = low = high = np.zeros((0, len(cls)))
    else:
        crit = np.stack([critical_value(t, c) for c in cls], axis=-1)
        bands = [critical_value_band(t, c) for c in cls]
        low = np.stack([b[0] for b in bands], axis=-1)
        high = np.stack([b[1] for b in bands], axis=-1)
    cal.write_critical(url, key, cls, crit, low, high)
    return {"points": int(t.shape[0]), "toys_per_point": int(t.shape[1]),
            "critical_min": crit.min(axis=0).tolist() if t.size else [],
            "critical_max": crit.max(axis=0).tolist() if t.size else []}


def run_calibration(url: str, client, *, targets: Sequence[CalibrationTarget] | None = None,
                    n_toys: int = 1000, cls: Sequence[float] = (0.9,),
                    region: str = "near-limit", band: tuple[float, float] = DEFAULT_BAND,
                    points_per_block: int = 1, max_per_line: int | None = None,
                    registry: PhysicsRegistry | None = None,
                    retries: int = 3, max_in_flight: int | None = None,
                    threads_max: int | None = None,
                    progress: TextIO | None = sys.stderr) -> CalibrationResult:
    """Calibrate (or resume calibrating) the store at ``url`` on ``client``.

    Holds the store's lease throughout, as a scan does (a scan or a second calibration of the
    store meanwhile is refused, :class:`~nubound.storage.lease.StoreLease`).
    """
    if not st.store_exists(st.normalize_url(url)):
        raise ConfigError(f"no scan store at {st.normalize_url(url)}")
    with StoreLease(url, purpose="calibration"):
        return _run_calibration(url, client, targets=targets, n_toys=n_toys, cls=cls,
                                region=region, band=band, points_per_block=points_per_block,
                                max_per_line=max_per_line, registry=registry, retries=retries,
                                max_in_flight=max_in_flight, threads_max=threads_max,
                                progress=progress)


def _run_calibration(url: str, client, *, targets, n_toys, cls, region, band,
                     points_per_block, max_per_line, registry, retries, max_in_flight,
                     threads_max, progress) -> CalibrationResult:
    """:func:`run_calibration` inside the store's lease."""
    if n_toys < 1 or points_per_block < 1:
        raise ConfigError("calibrate: --toys and points per block must be ≥ 1")
    for c in cls:
        if not 0.0 < c < 1.0:
            raise ConfigError(f"--cl: must lie in (0, 1), got {c}")
    t0 = time.perf_counter()
    url = st.normalize_url(url)
    if not st.store_exists(url):
        raise ConfigError(f"no scan store at {url}")
    spec, store_id = store_spec(url, registry)
    if spec.data != "observed":
        raise ConfigError("calibrate: the store's data are 'asimov'; calibration generates "
                          "toys around the observed data (data = 'observed')")
    targets = list(targets) if targets else default_targets(spec)
    tasks: list[CalibrationTask] = []
    totals = {}
    for target in targets:
        todo = plan_calibration(url, spec, store_id, target, n_toys=n_toys, cls=cls,
                                region=region, band=band, points_per_block=points_per_block,
                                max_per_line=max_per_line)
        totals[target.key] = cal.done_map(url, target.key).size
        tasks.extend(todo)
    total = sum(totals.values())
    if progress is not None:
        print(f"nubound calibrate: {len(tasks)} of {total} blocks to do "
              f"({n_toys} toys per point), dashboard {getattr(client, 'dashboard_link', None)}",
              file=progress, flush=True)
    run_id = uuid.uuid4().hex[:8]
    bar = Progress(total, total - len(tasks), progress)
    reports: list[CalibrationReport] = []

    def submit(batch: list[CalibrationTask]):
        keys = [f"{CALIBRATION_KEY_PREFIX}-{run_id}-{t.target.key}-{t.block}" for t in batch]
        return client.map(compute_calibration_block, [spec] * len(batch), batch, url=url,
                          store_id=store_id, registry=registry, key=keys, retries=retries,
                          pure=False)

    def on_result(report: CalibrationReport) -> None:
        reports.append(report)
        bar.update()

    try:
        dispatch(client, tasks, submit, on_result, threads_max=threads_max,
                 max_in_flight=max_in_flight)
    finally:
        bar.close()
    summary = {t.key: finish_calibration(url, t.key, cls) for t in targets}
    computed = [r for r in reports if not r.skipped]
    return CalibrationResult(url, summary, len(computed), len(reports) - len(computed),
                             sum(r.n_toys for r in computed), time.perf_counter() - t0,
                             sum(r.seconds for r in computed), tuple(reports))
