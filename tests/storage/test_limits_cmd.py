"""`nubound limits`: JSON/CSV/table output and the command (jobs/limits_cmd.py)."""

import argparse
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from nubound.jobs import limits_cmd
from nubound.storage import limits as lim

MASS_MeV = np.geomspace(1.0, 100.0, 4)
COUPLING = np.geomspace(1e-6, 1e-3, 301)
SIGMA = np.array([2e-5, 4e-5, 8e-5, 1.0])  # the last one: limit above the grid


@pytest.fixture
def store(tmp_path: Path) -> str:
    chi2 = (COUPLING[None, :] / SIGMA[:, None]) ** 4
    stacked = np.stack([chi2, 4 * chi2], axis=-1)
    ds = xr.Dataset(
        {"chi2_dresden_ii": (("mass_MeV", "coupling", "quenching_dresden_ii"), stacked),
         "chi2_coherent_csi": (("mass_MeV", "coupling"), 2 * chi2)},
        coords={"mass_MeV": ("mass_MeV", MASS_MeV, {"units": "MeV", "scale": "log"}),
                "coupling": ("coupling", COUPLING, {"units": "1", "scale": "log"}),
                "quenching_dresden_ii": ("quenching_dresden_ii", [0, 1],
                                         {"choices": ["fef", "ybe"]})},
        attrs={"spec_toml": '[model]\nname = "universal_vector"\n', "data_kind": "asimov"},
    )
    path = str(tmp_path / "scan.zarr")
    ds.to_zarr(path, consolidated=False)
    return path


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nubound")
    limits_cmd.add_limit_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_json_keys_and_values(store, capsys):
    assert run(["limits", store, "--experiments", "dresden_ii", "--quenching", "fef",
                "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"model", "cl", "experiments", "quenching", "limits"} <= set(out)
    assert out["model"] == "universal_vector" and out["data"] == "asimov"
    assert out["experiments"] == ["dresden_ii"] and out["quenching"] == "fef"
    assert out["cl"] == 0.9 and out["dof"] == 1
    rows = out["limits"]
    assert [r["mass_MeV"] for r in rows] == pytest.approx(MASS_MeV.tolist())
    assert {"mass_MeV", "coupling_upper", "at_grid_edge"} <= set(rows[0])
    t4 = lim.threshold(0.9, 1) ** 0.25
    assert [r["coupling_upper"] for r in rows[:3]] == pytest.approx(SIGMA[:3] * t4, rel=1e-6)
    assert rows[3]["coupling_upper"] is None and rows[3]["at_grid_edge"] is True
    assert [r["at_grid_edge"] for r in rows[:3]] == [False] * 3


def test_combination_and_quenching_per_experiment(store, capsys):
    run(["limits", store, "--quenching", "dresden_ii=ybe", "--format", "json", "--cl", "0.95"])
    out = json.loads(capsys.readouterr().out)
    # χ² = (4 + 2)(g/σ)⁴  ⇒  g = σ (t/6)^(1/4)
    expected = SIGMA[:3] * (lim.threshold(0.95, 1) / 6) ** 0.25
    got = [r["coupling_upper"] for r in out["limits"][:3]]
    assert got == pytest.approx(expected, rel=1e-6)
    assert out["experiments"] == ["coherent_csi", "dresden_ii"]  # sorted
    assert out["quenching"] == "coherent_csi=profile,dresden_ii=ybe"


def test_csv_and_table(store, capsys):
    run(["limits", store, "--format", "csv", "--dof", "2"])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["mass_MeV", "coupling_upper", "at_grid_edge", "status",
                             "coupling_first_crossing", "n_allowed_intervals",
                             "coupling_upper_precision"]
    assert len(rows) == MASS_MeV.size
    assert rows[3]["coupling_upper"] == "" and rows[3]["at_grid_edge"] == "True"
    assert rows[3]["status"] == "above_grid"
    # profile over quenching: fef (weaker) wins; total (1 + 2)(g/σ)⁴ = t(2 dof)
    assert float(rows[0]["coupling_upper"]) == pytest.approx(
        SIGMA[0] * (lim.threshold(0.9, 2) / 3) ** 0.25, rel=1e-6)
    run(["limits", store])
    captured = capsys.readouterr()
    assert "90% CL, 1 dof" in captured.out and "above_grid" in captured.out
    assert "asimov" in captured.out
    assert "1 of 4 masses above_grid" in captured.err


def test_interval_json_for_one_parameter_models(tmp_path):
    mu = np.linspace(0.0, 5.0, 501)
    ds = xr.Dataset({"chi2_coherent_ar": ("mu_e", (mu / 1.2) ** 2)}, coords={"mu_e": mu},
                    attrs={"model": "magnetic_moment", "data": "observed"})
    out = limits_cmd.limits_json(limits_cmd.compute_limits(ds))
    assert out["model"] == "magnetic_moment"
    allowed = out["intervals"]["mu_e"]["allowed"]
    assert allowed == [{"lower": 0.0, "upper": pytest.approx(1.2 * np.sqrt(lim.threshold(0.9, 1)),
                                                            abs=1e-9),
                        "lower_at_edge": True, "upper_at_edge": False}]
    text = limits_cmd.limits_csv(limits_cmd.compute_limits(ds))
    assert text.splitlines()[0] == "parameter,interval,lower,upper,lower_at_edge,upper_at_edge," \
                                   "best_fit"


def test_bad_inputs_are_clear_errors(store, tmp_path):
    from nubound.physics.errors import ConfigError, DataFileError

    with pytest.raises(ConfigError, match="not a choice of dresden_ii"):
        run(["limits", store, "--quenching", "nope"])
    with pytest.raises(DataFileError, match="STORE"):
        run(["limits", str(tmp_path / "missing.zarr")])
    assert limits_cmd.parse_quenching("a=x, b=profile") == {"a": "x", "b": "profile"}


def test_contour_json_and_csv(tmp_path, capsys):
    eps = np.linspace(-1.0, 1.0, 101)
    u, d = np.meshgrid(eps, eps, indexing="ij")
    ds = xr.Dataset({"chi2_dresden_ii": (("eps_u_ee", "eps_d_ee"), (u**2 + d**2) / 0.1)},
                    coords={"eps_u_ee": eps, "eps_d_ee": eps}, attrs={"model": "nsi"})
    path = str(tmp_path / "nsi.zarr")
    ds.to_zarr(path, consolidated=False)
    run(["limits", path, "--contour", "eps_u_ee,eps_d_ee", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert out["dof"] == 2 and out["contour"]["x"] == "eps_u_ee"
    (only,) = out["contour"]["paths"]
    radius = np.hypot(only["x"], only["y"])
    np.testing.assert_allclose(radius, np.sqrt(0.1 * lim.threshold(0.9, 2)), rtol=2e-3)
    run(["limits", path, "--contour", "eps_u_ee,eps_d_ee", "--format", "csv"])
    assert capsys.readouterr().out.splitlines()[0] == "path,eps_u_ee,eps_d_ee,closed,at_grid_edge"
    run(["limits", path, "--contour", "eps_u_ee,eps_d_ee"])
    assert "closed" in capsys.readouterr().out
