"""Feldman–Cousins calibration on a real LocalCluster (fake physics with toys, real Zarr)."""

import shutil

import numpy as np
import pytest
import zarr

from nubound.physics.errors import ConfigError
from nubound.physics.statistics.neyman import critical_value, toy_test_statistics
from nubound.scanner.calibrate import (
    CalibrationTarget,
    line_axis,
    line_parts,
    parse_target,
    point_generators,
    run_calibration,
    select_points,
)
from nubound.scanner.run import run_scan
from nubound.scanner.spec import parse_spec
from nubound.storage import calibration as cal
from nubound.storage.store import StoreMismatchError, open_store, read_attrs


@pytest.fixture(scope="module")
def toy_registry(fake):
    import fc_fake_physics  # beside fake_physics, whose folder the ``fake`` fixture put on the path

    return fc_fake_physics.ToyFakeRegistry()


@pytest.fixture(scope="module")
def calibrated(client, fake, toy_registry, tmp_path_factory):
    """A scanned and calibrated fake store: (url, spec, result)."""
    url = str(tmp_path_factory.mktemp("fc") / "s.zarr")
    spec = parse_spec(fake.spec_text(url, n_mass=4, n_coupling=16, chunks=(2, 16)),
                      registry=toy_registry)
    run_scan(spec, client, registry=toy_registry, progress=None)
    result = run_calibration(url, client, n_toys=40, cls=(0.9, 0.68), points_per_block=2,
                             registry=toy_registry, progress=None)
    return url, spec, result


def _group(url, key):
    return zarr.open_group(url, mode="r")[f"fc/{key}"]


def test_default_targets_are_each_experiment_and_the_combination(calibrated):
    url, _, result = calibrated
    assert set(result.targets) == {"fake_a", "fake_b", "fake_a+fake_b"}
    assert set(cal.calibration_keys(url)) == set(result.targets)
    for key, summary in result.targets.items():
        g = _group(url, key)
        assert summary["points"] > 0 and (g["done"][...] == 1).all()
        t = g["t_toys"][...]
        assert np.isfinite(t).all() and (t >= -1e-9).all()
        assert g["critical"].shape == (summary["points"], 2)
        assert g.attrs["cl"] == [0.9, 0.68] and "SeedSequence" in g.attrs["seed_scheme"]


def test_stored_toys_equal_direct_evaluation_with_the_seed_scheme(calibrated, toy_registry):
    url, spec, _ = calibrated
    store_id = read_attrs(url)["store_id"]
    target = CalibrationTarget(("fake_a", "fake_b"))
    g = _group(url, target.key)
    axis = line_axis(spec)
    for row in (0, g["points"].shape[0] - 1):
        point = g["points"][row]
        flat = int(np.ravel_multi_index(tuple(point), spec.shape))
        parts = line_parts(spec, target, point, axis, toy_registry)
        t = toy_test_statistics(parts, int(point[axis]), 40,
                                point_generators(store_id, flat, target.experiments))
        np.testing.assert_array_equal(g["t_toys"][row], t)
        assert g["critical"][row, 0] == critical_value(t, 0.9)


def test_points_lie_near_the_wilks_threshold(calibrated):
    url, spec, _ = calibrated
    from nubound.storage.limits import combined_chi2

    chi2 = combined_chi2(open_store(url), ["fake_b"]).transpose(*spec.axis_names).values
    delta = chi2 - chi2.min(axis=1, keepdims=True)
    points = _group(url, "fake_b")["points"][...]
    d = delta[points[:, 0], points[:, 1]]
    assert ((d >= 0.5 * 1.0) & (d <= 2 * 2.706)).all()  # band of 68 % (1.0) and 90 % (2.706)


def test_resume_after_lost_blocks_is_bit_identical(client, calibrated, toy_registry, tmp_path):
    url, _, _ = calibrated
    copy = str(tmp_path / "copy.zarr")
    shutil.copytree(url, copy)
    key = "fake_a+fake_b"
    g = zarr.open_group(copy, mode="r+")[f"fc/{key}"]
    g["done"][0] = 0  # as if the worker died after writing half of block 0
    g["t_toys"][0] = np.nan
    g["done"][-1] = 0
    result = run_calibration(copy, client, n_toys=40, cls=(0.9, 0.68), points_per_block=2,
                             registry=toy_registry, progress=None)
    assert result.blocks_computed == 2
    for name in ("t_toys", "critical", "done", "points"):
        np.testing.assert_array_equal(_group(copy, key)[name][...], _group(url, key)[name][...])


def test_other_options_on_an_existing_calibration_are_refused(client, calibrated, toy_registry):
    url, _, _ = calibrated
    with pytest.raises(StoreMismatchError, match="other toys"):
        run_calibration(url, client, n_toys=41, cls=(0.9, 0.68), points_per_block=2,
                        registry=toy_registry, progress=None)


def test_fc_critical_grid_and_limits(calibrated):
    url, spec, _ = calibrated
    from nubound.storage.limits import combined_chi2, coupling_limits

    ds = open_store(url)
    chi2 = combined_chi2(ds, ["fake_a", "fake_b"])
    grid, info = cal.critical_grid(url, "fake_a+fake_b", chi2, 0.9)
    assert info["fc_toys_per_point"] == 40 and info["fc_points_calibrated"] > 0
    assert len(info["fc_calibrated_points"]) == info["fc_points_calibrated"]
    assert np.isfinite(grid.values[np.unique(_group(url, "fake_a+fake_b")["points"][:, 0])]).all()
    wilks = coupling_limits(ds, cl=0.9, reference="per_mass")
    same = coupling_limits(ds, cl=0.9, reference="per_mass", critical=grid * 0 + 2.705543454)
    np.testing.assert_allclose(same.coupling_upper, wilks.coupling_upper, rtol=1e-9)
    higher = coupling_limits(ds, cl=0.9, reference="per_mass", critical=grid * 0 + 6.0)
    ok = np.isfinite(wilks.coupling_upper.values) & np.isfinite(higher.coupling_upper.values)
    assert ok.any() and (higher.coupling_upper.values[ok] > wilks.coupling_upper.values[ok]).all()


def test_select_points_and_targets_errors():
    chi2 = np.array([[0.0, 1.0, 3.0, 9.0], [5.0, 4.0, 6.0, 20.0]])
    pts = select_points(chi2, 1, (0.9,), "near-limit")
    assert pts.tolist() == [[0, 2], [1, 2]]  # Δχ² 3.0 and 2.0 lie in [1.35, 5.41]
    assert select_points(chi2, 1, (0.9,), "all").shape == (8, 2)
    wide = select_points(chi2, 1, (0.9,), "near-limit", band=(0.1, 10.0))
    assert wide.tolist() == [[0, 1], [0, 2], [0, 3], [1, 0], [1, 2], [1, 3]]
    # closest to 2.706: Δχ² 3.0 on line 0, 2.0 on line 1
    assert select_points(chi2, 1, (0.9,), "near-limit", band=(0.1, 10.0),
                         max_per_line=1).tolist() == [[0, 2], [1, 2]]
    with pytest.raises(ConfigError, match="region"):
        select_points(chi2, 1, (0.9,), "some")
    with pytest.raises(ConfigError, match="incomplete"):
        select_points(np.array([[np.nan, 1.0]]), 1, (0.9,), "all")
    t = parse_target("dresden_ii@ybe")
    assert t.experiments == ("dresden_ii",) and t.key == "dresden_ii@ybe"
    assert parse_target("a,b").key == "a+b"
    with pytest.raises(ConfigError, match="--target"):
        parse_target("@fef")


def test_cli_limits_and_plot_with_method_fc(calibrated, tmp_path, capsys):
    import json

    from nubound.jobs.cli import main

    url, _, _ = calibrated
    assert main(["limits", url, "--method", "fc", "--format", "json"]) == 0
    fc = json.loads(capsys.readouterr().out)
    assert fc["method"] == "fc" and fc["fc_toys_per_point"] == 40
    assert fc["fc_target"] == "fake_a+fake_b" and fc["reference"] == "per_mass"
    assert len(fc["fc_calibrated_points"]) == fc["fc_points_calibrated"] > 0
    assert main(["limits", url, "--format", "json", "--reference", "per_mass"]) == 0
    wilks = json.loads(capsys.readouterr().out)
    assert wilks["method"] == "wilks" and len(wilks["limits"]) == len(fc["limits"])
    assert main(["limits", url, "--method", "fc"]) == 0
    assert "Feldman–Cousins (fake_a+fake_b)" in capsys.readouterr().out
    assert main(["limits", url, "--method", "fc", "--experiments", "fake_b", "--quenching",
                 "profile"]) == 0
    capsys.readouterr()
    out = tmp_path / "fc.png"
    assert main(["plot", url, "--method", "fc", "-o", str(out)]) == 0
    assert out.stat().st_size > 10_000


def test_cli_errors_name_the_option(calibrated, capsys):
    from nubound.jobs.cli import main

    url, _, _ = calibrated
    assert main(["calibrate", url, "--band", "2"]) == 2
    assert "--band" in capsys.readouterr().err
    assert main(["limits", url, "--method", "fc", "--experiments", "fake_a",
                 "--quenching", "a"]) == 2
    err = capsys.readouterr().err
    assert "no calibration of 'fake_a@a'" in err and "fake_a+fake_b" in err


def test_cli_calibrate_on_a_cluster_profile_resumes_bit_identical(calibrated, tmp_path,
                                                                  monkeypatch, capsys):
    # `nubound calibrate --cluster PROFILE` makes its cluster with the scans' profile code
    # (jobs.clusters.client_from_profile) and finishes an interrupted calibration to the same
    # bytes as the uninterrupted one made on the tests' client
    from pathlib import Path

    from nubound.jobs import clusters
    from nubound.jobs.cli import main

    url, _, _ = calibrated
    copy = str(tmp_path / "copy.zarr")
    shutil.copytree(url, copy)
    key = "fake_a+fake_b"
    g = zarr.open_group(copy, mode="r+")[f"fc/{key}"]
    g["done"][0] = 0
    g["t_toys"][0] = np.nan
    profile = tmp_path / "local_test.toml"
    profile.write_text('profile_version = 1\nkind = "local"\n[network]\n'
                       'dashboard_address = "127.0.0.1:0"\n'
                       '[workers]\nn_workers = 1\nmemory_limit = "1GiB"\n')
    made = []
    real = clusters.client_from_profile
    monkeypatch.setattr(clusters, "client_from_profile",
                        lambda p: made.append(str(p)) or real(p))
    toys = Path(__file__).with_name("fc_fake_physics.py")
    assert main(["calibrate", copy, "--cluster", str(profile), "--toys", "40", "--cl", "0.9",
                 "--cl", "0.68", "--points-per-block", "2", "--format", "json",
                 "--registry", f"{toys}:ToyFakeRegistry"]) == 0
    assert made == [str(profile)]
    assert '"blocks_computed": 1' in capsys.readouterr().out
    for name in ("t_toys", "critical", "done", "points"):
        np.testing.assert_array_equal(_group(copy, key)[name][...], _group(url, key)[name][...])
    assert main(["calibrate", copy, "--cluster", str(profile), "--scheduler", "tcp://x:1"]) == 2
    assert "--cluster" in capsys.readouterr().err


def test_a_calibration_holds_the_store_lease(client, calibrated, toy_registry):
    # a calibration writes into the scan store: while another writer holds the store's
    # lease it is refused, like a second scan, and names the holder
    from nubound.storage.lease import StoreBusyError, StoreLease

    url = calibrated[0]
    with StoreLease(url, purpose="scan"):
        with pytest.raises(StoreBusyError, match=r"is in use by scan pid \d+"):
            run_calibration(url, client, n_toys=40, cls=(0.9, 0.68), points_per_block=2,
                            registry=toy_registry, progress=None)
