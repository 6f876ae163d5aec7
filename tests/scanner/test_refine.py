"""Adaptive refinement (scanner/refine.py, storage/levels.py) against dense uniform scans.

Integration tests run on a real LocalCluster (2 worker processes) with the fake physics of
fake_physics.py, whose rate has a destructive-interference band (an allowed band above the
first exclusion at every mass), and one check with the real physics (COHERENT CsI).
"""

import os
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import zarr

from nubound.physics.errors import ConfigError
from nubound.scanner.refine import (
    GUARD_LEVELS_2D,
    argmin_points,
    cells_to_points,
    dilate,
    guard_band,
    line_spacing,
    local_minimum_cells,
    plan_level,
)
from nubound.scanner.run import run_scan
from nubound.scanner.spec import parse_spec, validate_spec
from nubound.scanner.spec_toml import spec_to_toml
from nubound.storage import levels as lv
from nubound.storage.limits import coupling_limits, limit_precision
from nubound.storage.store import StoreMismatchError, open_store

REFINE = """
[refine]
axes = ["coupling"]
levels = {levels}
confidence_levels = [0.9]
targets = ["combined", "each"]
"""
N_MASS, N_COUPLING, LEVELS = 8, 32, 5
CHUNKS = (4, 32)
SLOW_S = 0.03


def _spec_text(fake, url, *, levels=LEVELS, n_coupling=N_COUPLING, chunks=CHUNKS):
    return fake.spec_text(url, n_mass=N_MASS, n_coupling=n_coupling, chunks=chunks) + \
        REFINE.format(levels=levels)


def _all_arrays(url):
    """Every array of the store, the level groups included, by path."""
    root = zarr.open_group(url, mode="r")
    out = {}
    for path, node in root.members(max_depth=None):
        if isinstance(node, zarr.Array):
            out[path] = node[...]
    return out


def _wait(predicate, timeout_s=120.0):
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)


# ---- spec --------------------------------------------------------------------------------

@pytest.fixture
def raw(fake):
    return tomllib.loads(_spec_text(fake, "s.zarr"))


@pytest.mark.parametrize("key, value, message", [
    ("axes", ["mass"], r"refine.axes\[0\]: got 'mass'; allowed: mass_MeV, coupling"),
    ("levels", -1, "refine.levels: expected an integer 0..16"),
    ("levels", 2.0, "refine.levels: expected an integer"),
    ("confidence_levels", [1.5], r"refine.confidence_levels\[0\]: expected 0 < value < 1"),
    ("targets", ["all"], r"refine.targets\[0\]: got 'all'; allowed: combined, each"),
    ("depth", 3, "refine.depth: unknown key; allowed keys: axes, levels"),
])
def test_refine_errors_name_the_key_and_the_allowed_values(raw, registry, key, value, message):
    raw["refine"][key] = value
    with pytest.raises(ConfigError, match=message):
        validate_spec(raw, registry=registry)


def test_refine_round_trips_and_only_levels_may_change(raw, registry):
    spec = validate_spec(raw, registry=registry)
    assert spec.refine.axes == ("coupling",) and spec.refine.levels == LEVELS
    assert parse_spec(spec_to_toml(spec), registry=registry) == spec
    raw["refine"]["levels"] = LEVELS + 2
    assert validate_spec(raw, registry=registry).same_scan(spec)
    raw["refine"]["confidence_levels"] = [0.95]
    assert not validate_spec(raw, registry=registry).same_scan(spec)
    del raw["refine"]
    assert validate_spec(raw, registry=registry).same_scan(spec)  # a plain store may be refined


def test_level_axis_keeps_the_base_values_exactly():
    base = np.geomspace(1e-7, 1e-2, 64)
    fine = lv.level_axis_values(base, "log", 7)
    assert fine.size == 63 * 128 + 1
    assert fine[::128].tobytes() == base.tobytes()
    ratio = fine[1:] / fine[:-1]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    assert lv.level_axis_values([0.0, 1.0], "lin", 2).tolist() == [0, 0.25, 0.5, 0.75, 1]


# ---- marks (pure) ------------------------------------------------------------------------

def test_marks_follow_a_threshold_crossing_with_a_guard_band(fake, registry):
    spec = parse_spec(fake.spec_text("m.zarr", n_mass=1, n_coupling=9, chunks=(1, 9))
                      + REFINE.format(levels=1).replace('"combined", "each"', '"combined"'),
                      registry=registry)
    # one experiment-like surface: Δχ² crosses 2.706 between points 4 and 5 only
    chi2 = np.array([[0.0, 0.1, 0.2, 0.5, 1.0, 6.0, 20.0, 40.0, 80.0]])
    merged = {"fake_a": np.repeat(chi2[..., None] / 2, 3, axis=-1), "fake_b": chi2 / 2}
    points = plan_level(spec, merged, 1)[0]
    # level-1 grid has 17 points; the crossing cell 4..5 is (8, 10), its guard cells 3..4 and
    # 5..6 add the midpoints 7 and 11; the minimum at point 0 brackets cell 0..1 (midpoint 1,
    # guard cell 1..2: midpoint 3); nothing else, and no base point again
    assert np.flatnonzero(points).tolist() == [1, 3, 7, 9, 11]


def test_a_threshold_crossed_only_where_the_best_quenching_changes_is_marked(fake, registry):
    spec = parse_spec(fake.spec_text("m.zarr", n_mass=1, n_coupling=9, chunks=(1, 9))
                      + REFINE.format(levels=1).replace('"combined", "each"', '"combined"'),
                      registry=registry)
    # two quenching choices crossing between points 4 and 5: the profile is 2.0 at both
    # corners, but inside the cell it is the lower of two crossing lines, which peaks at
    # 2.747 > 2.706 (2 + 1.4 t = 3.6 - 1.6 t at t = 8/15); the corners alone miss it
    rising = [0.0, 0.2, 0.4, 0.6, 2.0, 3.4, 4.8, 6.2, 7.6]
    falling = [9.0, 8.0, 7.0, 6.0, 3.6, 2.0, 1.9, 1.85, 1.8]
    far = [50.0] * 9
    merged = {"fake_a": np.array([rising, falling, far]).T[None], "fake_b": np.zeros((1, 9))}
    points = plan_level(spec, merged, 1)[0]
    # the crossing cell 4..5 (midpoint 9) and its guard cells (7, 11); the minimum at point 0
    # brackets cell 0..1 (midpoint 1; guard: 3)
    assert np.flatnonzero(points).tolist() == [1, 3, 7, 9, 11]
    # the same profile as one curve (no choices to switch) has no crossing there
    profile = {"fake_a": np.minimum(rising, falling)[None], "fake_b": np.zeros((1, 9))}
    assert np.flatnonzero(plan_level(spec, profile, 1)[0]).tolist() == [1, 3]


def test_current_minima_global_and_per_slice():
    chi2 = np.array([[3.0, 1.0, 2.0, 5.0], [4.0, 4.0, 0.5, 4.0], [np.nan] * 4])
    assert np.argwhere(argmin_points(chi2, (1,))).tolist() == [[0, 1], [1, 2]]
    assert np.argwhere(argmin_points(chi2, (0, 1))).tolist() == [[1, 2]]


def test_a_band_between_samples_is_marked_by_its_local_minimum():
    # χ² dips between samples 3 and 5 (sample 4 is below both neighbours), all above threshold
    chi2 = np.array([[50.0, 60.0, 80.0, 40.0, 30.0, 45.0, 90.0, 100.0]])
    cells = local_minimum_cells(chi2, np.ones_like(chi2, bool), (1,))
    assert np.flatnonzero(cells[0]).tolist() == [3, 4]
    flat = np.array([[5.0, 5.0 + 1e-4, 5.0, 5.0 + 2e-4]])  # numerical noise is no minimum
    assert not local_minimum_cells(flat, np.ones_like(flat, bool), (1,)).any()


def test_cell_helpers_in_two_dimensions():
    cells = np.zeros((4, 4), bool)
    cells[1, 2] = True
    assert dilate(cells, (0, 1)).sum() == 9
    points = cells_to_points(cells, (0, 1))
    assert points.shape == (5, 5) and np.argwhere(points).tolist() == [[1, 2], [1, 3], [2, 2],
                                                                       [2, 3]]


def test_a_2d_valley_between_refined_strips_is_no_hidden_minimum():
    """Level 1 of a 3 × 5 base grid (5 × 9 points), a valley along axis 1 at x = 4. The
    level-1 line 1 is computed only in two strips (x = 0-1 and 7-8): its points 1 and 7 are
    neighbours across unsampled ground and bracket nothing; the base lines, sampled at their
    own step, do."""
    x = np.arange(9.0)
    chi2 = np.tile((x - 4.0) ** 2 + 0.5 * x, (5, 1))
    known = np.zeros_like(chi2, bool)
    known[::2, ::2] = True                 # the base points
    known[1, [0, 1, 7, 8]] = True          # two refined strips on the level-1 line 1
    chi2[2, 4] = 20.0                      # base line 2: a peak at x = 4, minima at 2 and 6
    assert line_spacing(5, 1).tolist() == [2, 1, 2, 1, 2]
    cells = local_minimum_cells(chi2, known, (0, 1), level=1)
    assert np.flatnonzero(cells[0]).tolist() == [2, 3, 4, 5]   # base line 0 only
    assert cells[1].all() and cells[2].all()                   # base line 2: both minima
    assert np.flatnonzero(cells[3]).tolist() == [2, 3, 4, 5]   # base line 4
    # read as a single refined axis, points 1 and 7 of line 1 would bracket x = 0..7
    line = local_minimum_cells(chi2[1:2], known[1:2], (1,))
    assert np.flatnonzero(line[0]).tolist() == list(range(7))


def test_the_guard_band_widens_1d_marks_and_coarse_2d_leaves_only():
    line = np.zeros((1, 6), bool)
    line[0, 2] = True
    assert np.flatnonzero(guard_band(line, (1,))).tolist() == [1, 2, 3]
    plane = np.zeros((4, 4), bool)
    plane[1, 2] = True
    assert np.array_equal(guard_band(plane, (0, 1), GUARD_LEVELS_2D), plane)  # fine 2-D leaves
    assert guard_band(plane, (0, 1), GUARD_LEVELS_2D - 1).sum() == 9         # coarse ones
    # a mass × coupling plane refined along the coupling only is a set of 1-D lines
    assert guard_band(plane, (1,)).sum() == 3


# ---- scans -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scans(client, fake, registry, tmp_path_factory):
    """A refined scan (8 × 32 couplings, 5 levels) and the dense uniform scan of its finest
    grid (8 × 993 couplings): (refined result, refined url, dense url)."""
    root = tmp_path_factory.mktemp("refine")
    url, dense = str(root / "refined.zarr"), str(root / "dense.zarr")
    spec = parse_spec(_spec_text(fake, url), registry=registry)
    result = run_scan(spec, client, registry=registry, progress=None)
    n_fine = lv.level_size(N_COUPLING, LEVELS)
    dense_spec = parse_spec(fake.spec_text(dense, n_mass=N_MASS, n_coupling=n_fine,
                                           chunks=(4, 512)), registry=registry)
    run_scan(dense_spec, client, registry=registry, progress=None)
    return result, url, dense


@pytest.mark.parametrize("experiments", [None, ["fake_a"], ["fake_b"]])
def test_refined_limits_match_the_dense_scan_within_one_step(scans, experiments):
    result, url, dense = scans
    fine, ref = lv.finest_dataset(url), open_store(dense)
    np.testing.assert_allclose(fine.coupling.values, ref.coupling.values, rtol=1e-12)
    step = np.log(ref.coupling.values[1] / ref.coupling.values[0])
    got = coupling_limits(fine, experiments=experiments)
    want = coupling_limits(ref, experiments=experiments)
    # every allowed band of the dense scan is found, at every mass
    np.testing.assert_array_equal(got.n_allowed_intervals, want.n_allowed_intervals)
    assert (want.n_allowed_intervals.values == 2).sum() >= N_MASS // 2  # the band is there
    for name in ("allowed_lower", "allowed_upper", "coupling_upper"):
        a, b = got[name].values, want[name].values
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        ok = ~np.isnan(a)
        assert np.all(np.abs(np.log(a[ok] / b[ok])) <= step), name


def test_refined_scan_computes_under_a_tenth_of_the_dense_points(scans):
    result, url, _ = scans
    dense_points = N_MASS * lv.level_size(N_COUPLING, LEVELS)
    assert [r.level for r in result.levels] == list(range(1, LEVELS + 1))
    assert result.points_computed == int(lv.finest_dataset(url).computed.sum())
    assert result.points_computed <= 0.1 * dense_points
    # each level's chunks exist only where it computed points
    for row in lv.level_status(url):
        assert row["planned"] and row["blocks_done"] == row["blocks_todo"]
        group = Path(url, lv.level_group(row["level"]), "chi2_fake_b", "c")
        assert len([p for p in group.rglob("*") if p.is_file()]) == row["blocks_todo"]


def test_limits_report_the_bracketing_cell(scans):
    _, url, _ = scans
    fine = lv.finest_dataset(url)
    res = limit_precision(fine, coupling_limits(fine))
    ok = np.isfinite(res.coupling_upper.values)
    finest = (1e-2 / 1e-6) ** (1 / (lv.level_size(N_COUPLING, LEVELS) - 1)) - 1  # 4 decades
    np.testing.assert_allclose(res.coupling_upper_precision.values[ok], finest, rtol=1e-9)
    assert np.all(res.coupling_upper_below.values[ok] <= res.coupling_upper.values[ok])
    assert np.all(res.coupling_upper_above.values[ok] >= res.coupling_upper.values[ok])


def test_limits_command_reads_the_finest_data(scans):
    from nubound.jobs.limits_cmd import compute_limits, limits_json, limits_table
    from nubound.jobs.limits_cmd import open_store as open_for_command

    _, url, dense = scans
    got = limits_json(compute_limits(open_for_command(url)))
    want = limits_json(compute_limits(open_for_command(dense)))
    for a, b in zip(got["limits"], want["limits"], strict=True):
        assert len(a["allowed_intervals"]) == len(b["allowed_intervals"])
        if b["coupling_upper"] is not None:  # the same precision as the dense grid
            assert a["coupling_upper_precision"] == pytest.approx(b["coupling_upper_precision"],
                                                                  rel=1e-6)
    base = compute_limits(open_store(url))  # the base grid alone: 32 times coarser
    assert np.nanmax(base.coupling_upper_precision) > 20 * max(
        r["coupling_upper_precision"] or 0 for r in got["limits"])
    assert "precision" in limits_table(compute_limits(open_for_command(url)))


def test_status_lists_the_levels(scans, capsys):
    from nubound.jobs.scan import main

    _, url, _ = scans
    assert main(["status", url]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("refine:")]
    assert len(lines) == LEVELS
    for row, line in zip(lv.level_status(url), lines, strict=True):
        assert line.endswith(f"level {row['level']}: {row['blocks_done']}/{row['blocks_todo']} "
                             f"blocks, {row['points']} points")


def test_plot_draws_each_band_as_one_region(scans):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nubound.storage.plots import _draw_intervals

    _, url, dense = scans
    fig, ax = plt.subplots()
    _draw_intervals(ax, lv.finest_dataset(url), "combined", None, "profile", {"color": "k"},
                    True, cl=0.9, dof=1, nuisance="profile", reference="global")
    regions = sum(len(c.get_paths()) for c in ax.collections)
    plt.close(fig)
    counts = coupling_limits(open_store(dense)).n_allowed_intervals.values
    runs = sum(int(np.sum(np.diff(np.r_[0, counts >= k, 0].astype(int)) == 1))
               for k in range(1, counts.max() + 1))
    assert regions == runs == 2  # the region below the first exclusion, and one band


REFINE_2D = """
[refine]
axes = ["mass_MeV", "coupling"]
levels = {levels}
confidence_levels = [0.9]
targets = ["combined", "each"]
"""


def test_2d_contours_match_the_dense_scan_from_a_tenth_of_the_points(client, fake, registry,
                                                                       tmp_path):
    """Both axes refined (the contours of the combination and of each experiment in the mass ×
    coupling plane, the interference band included) against the dense uniform scan of the
    finest grid: every dense point is classified alike (allowed or excluded at 90 % CL, 1 and
    2 dof) or lies next to the dense boundary (within one step), from ≤ 10 % of the points."""
    from contour_check import classification_differences  # tests/scanner: on the path (fake)

    n_mass, n_coupling, levels = 9, 17, 5
    url, dense = str(tmp_path / "r.zarr"), str(tmp_path / "d.zarr")
    spec = parse_spec(fake.spec_text(url, n_mass=n_mass, n_coupling=n_coupling, chunks=(8, 16))
                      + REFINE_2D.format(levels=levels), registry=registry)
    result = run_scan(spec, client, registry=registry, progress=None)
    shape = (lv.level_size(n_mass, levels), lv.level_size(n_coupling, levels))
    axes = tuple(replace(a, scale="values",
                         values=tuple(lv.level_axis_values(a.values, a.scale, levels)))
                 for a in spec.axes)
    dense_spec = replace(spec, axes=axes, chunks=(32, shape[1]), refine=None)
    run_scan(dense_spec, client, url=dense, registry=registry, progress=None)
    fine, ref = lv.finest_dataset(url), open_store(dense)
    np.testing.assert_array_equal(fine.coupling.values, ref.coupling.values)
    np.testing.assert_array_equal(fine.mass_MeV.values, ref.mass_MeV.values)
    got = classification_differences(fine, ref)
    assert got["allowed"] > 0.1 * 6 * np.prod(shape)  # regions and contours of every target
    assert got["beyond_one_step"] == 0, got
    assert got["differ"] <= 1e-3 * got["allowed"], got
    assert result.points_computed <= 0.1 * np.prod(shape), result.points_computed


def test_raising_levels_equals_refining_directly(client, fake, registry, tmp_path):
    url, direct = str(tmp_path / "raised.zarr"), str(tmp_path / "direct.zarr")
    run_scan(parse_spec(_spec_text(fake, url, levels=2), registry=registry), client,
             registry=registry, progress=None)
    raised = run_scan(parse_spec(_spec_text(fake, url, levels=3), registry=registry), client,
                      registry=registry, progress=None)
    assert raised.blocks_computed == 0 and raised.levels[0].points_computed == 0
    assert raised.levels[2].points_computed > 0
    run_scan(parse_spec(_spec_text(fake, direct, levels=3), registry=registry), client,
             registry=registry, progress=None)
    a, b = _all_arrays(url), _all_arrays(direct)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].tobytes() == b[name].tobytes(), name
    other = _spec_text(fake, url, levels=3).replace("[0.9]", "[0.95]")
    with pytest.raises(StoreMismatchError, match="different spec"):
        run_scan(parse_spec(other, registry=registry), client, registry=registry,
                 progress=None)


def test_client_killed_during_a_level_resumes_bit_identical(client, fake, registry, tmp_path):
    levels = 3
    ref_url, url = str(tmp_path / "ref.zarr"), str(tmp_path / "killed.zarr")
    run_scan(parse_spec(_spec_text(fake, ref_url, levels=levels), registry=registry), client,
             registry=registry, progress=None)
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(_spec_text(fake, url, levels=levels))
    proc = subprocess.Popen(
        [sys.executable, "-m", "fake_physics", str(spec_path), client.scheduler.address,
         str(SLOW_S)],
        cwd=Path(fake.__file__).parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def in_level_2():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        try:
            maps = lv.level_maps(url, 2)
        except (FileNotFoundError, KeyError, LookupError):
            return False
        return maps is not None and maps[1].sum() >= 1

    try:
        _wait(in_level_2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
        proc.stderr.close()
    time.sleep(1.0)  # tasks of the dead client that were running finish
    todo, done = lv.level_maps(url, 2)
    assert done.sum() < todo.sum(), "the client was not killed during level 2"
    done_before = lv.level_maps(url, 2)[1]
    slow = fake.FakeRegistry(sleep_s=SLOW_S)
    result = run_scan(parse_spec(spec_path.read_text(), registry=slow), client, registry=slow,
                      progress=None)
    assert result.levels[0].points_computed == 0  # level 1 was complete: nothing again
    assert result.levels[1].blocks_computed == int(todo.sum() - done_before.sum())
    a, b = _all_arrays(url), _all_arrays(ref_url)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].tobytes() == b[name].tobytes(), name


# ---- real physics ------------------------------------------------------------------------

REAL = """
spec_version = 1
experiments = ["coherent_csi"]
store = "{store}"
[model]
name = "vector_universal"
parameters = {{ interference = "standard" }}
[[axes]]
name = "mass_MeV"
unit = "MeV"
values = [300.0, 1000.0, 3000.0]
[[axes]]
name = "coupling"
unit = "1"
scale = "log"
start = 1e-5
stop = 1e-2
n = {n}
[chunks]
mass_MeV = 3
coupling = {chunk}
"""


def test_real_physics_refined_limits_match_a_dense_scan(tmp_path):
    from distributed import Client

    url, dense = str(tmp_path / "r.zarr"), str(tmp_path / "d.zarr")
    levels = 4
    spec = parse_spec(REAL.format(store=url, n=16, chunk=16) + REFINE.format(levels=levels))
    n_fine = lv.level_size(16, levels)
    dense_spec = parse_spec(REAL.format(store=dense, n=n_fine, chunk=n_fine))
    with Client(processes=False, n_workers=1, threads_per_worker=2,
                dashboard_address=":0") as c:
        result = run_scan(spec, c, progress=None)
        run_scan(dense_spec, c, progress=None)
    fine, ref = lv.finest_dataset(url), open_store(dense)
    step = np.log(ref.coupling.values[1] / ref.coupling.values[0])
    got, want = coupling_limits(fine), coupling_limits(ref)
    np.testing.assert_array_equal(got.n_allowed_intervals, want.n_allowed_intervals)
    assert np.all(np.isfinite(want.coupling_upper.values))
    for name in ("allowed_lower", "allowed_upper", "coupling_upper"):
        a, b = got[name].values, want[name].values
        ok = ~np.isnan(b)
        assert np.all(np.abs(np.log(a[ok] / b[ok])) <= step), name
    assert result.points_computed < 0.5 * 3 * n_fine
    assert os.path.isdir(Path(url, lv.level_group(levels)))


class _Recorder:
    """A ScanMonitor that records what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start(self, *, spec, url, blocks_total, blocks_done, level=None) -> None:
        self.events.append(("start", level, blocks_total, blocks_done))

    def block_done(self, report) -> None:
        self.events.append(("block",))

    def close(self) -> None:
        self.events.append(("close",))


def test_the_monitor_is_told_each_refinement_level(client, fake, registry, tmp_path):
    """The dashboard page shows the level being computed: each level starts the monitor with
    its number, reports its blocks and closes it, after the base grid did the same."""
    monitor = _Recorder()
    spec = parse_spec(_spec_text(fake, str(tmp_path / "m.zarr"), levels=2), registry=registry)
    result = run_scan(spec, client, registry=registry, progress=None, monitor=monitor)
    starts = [e for e in monitor.events if e[0] == "start"]
    assert [e[1] for e in starts] == [None, 1, 2]
    blocks = [i for i, e in enumerate(monitor.events) if e[0] == "block"]
    closes = [i for i, e in enumerate(monitor.events) if e[0] == "close"]
    assert len(closes) == 3 and len(blocks) == result.blocks_computed + sum(
        r.blocks_computed for r in result.levels)
    for (_, level, total, done), report in zip(starts[1:], result.levels, strict=True):
        assert level == report.level and total == report.blocks_planned
        assert done == report.blocks_planned - report.blocks_computed


def test_refined_quickstart_limits_scale_with_mass_in_the_contact_regime(tmp_path):
    # a heavy mediator acts through g²/M² only (docs/physics.md#vector-mediator), so every
    # coupling the data decide at M ≥ 1 GeV — the 90 % limit and both edges of the allowed
    # band where the weak charge changes sign — is ∝ M; the base grid alone (64 couplings,
    # steps of 22 %) cannot show it, the 7 refined levels (steps of 0.16 %) must
    from distributed import Client

    text = (Path(__file__).parents[2] / "configs" / "quickstart.toml").read_text()
    spec = parse_spec(text.replace("scans/quickstart.zarr", str(tmp_path / "q.zarr")))
    with Client(processes=False, n_workers=1, threads_per_worker=2,
                dashboard_address=":0") as c:
        result = run_scan(spec, c, progress=None)
    assert result.points_computed < 0.1 * 48 * lv.level_size(64, 7)
    limits = coupling_limits(lv.finest_dataset(spec.store), reference="per_mass")
    heavy = limits.sel(mass_MeV=slice(1e3, None))
    assert heavy.sizes["mass_MeV"] >= 8
    assert np.all(heavy.n_allowed_intervals.values == 2)  # the band, at every heavy mass
    for value in (heavy.coupling_upper, heavy.allowed_lower.isel(interval=1),
                  heavy.allowed_upper.isel(interval=1)):
        ratio = (value / heavy.mass_MeV).values
        assert np.all(np.isfinite(ratio))
        assert np.max(ratio) / np.min(ratio) - 1 < 0.02
