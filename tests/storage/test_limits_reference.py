"""Limits that say what they mean: ``--cl`` from the store, ``--reference sm`` and the
BSM-preference flag (storage/limits.py, jobs/limits_cmd.py; docs/statistics.md#reference-minimum).

Synthetic grids with closed-form answers: χ²(M, g) = c + (g/σ)⁴ − D·exp(−ln²(g/g₀)/2w²), a
power-law rise from the SM value c plus a dip of depth D (a BSM signal the data like) at g₀.
"""

import json

import numpy as np
import pytest
import xarray as xr

from nubound.jobs import limits_cmd
from nubound.jobs.cli import main as run
from nubound.storage import limits as lim

MASS_MeV = np.array([1.0, 10.0])
COUPLING = np.geomspace(1e-7, 1e-3, 801)
SIGMA = 1e-5
C_SM = np.array([50.0, 50.0])
DIP = np.array([1.0, 6.0])  # the second mass: the data prefer BSM by 6 > 2.706
G0, WIDTH = 1e-6, 0.3


def chi2_grid() -> np.ndarray:
    g = COUPLING[None, :]
    dip = DIP[:, None] * np.exp(-np.log(g / G0) ** 2 / (2 * WIDTH**2))
    return C_SM[:, None] + (g / SIGMA) ** 4 - dip


def dataset(spec_toml: str = "") -> xr.Dataset:
    return xr.Dataset(
        {"chi2_a": (("mass_MeV", "coupling"), chi2_grid())},
        coords={"mass_MeV": ("mass_MeV", MASS_MeV, {"units": "MeV", "scale": "log"}),
                "coupling": ("coupling", COUPLING, {"units": "1", "scale": "log"})},
        attrs={"spec_toml": spec_toml},
    )


def sm_point() -> xr.Dataset:
    return xr.Dataset({"chi2_a": (("mass_MeV", "coupling"), C_SM[:, None])},
                      coords={"mass_MeV": MASS_MeV, "coupling": [0.0]})


def test_sm_reference_limit_is_the_rise_above_the_sm_point():
    out = lim.coupling_limits(dataset(), reference="sm", sm=sm_point())
    level = lim.threshold(0.9, 1)
    # far above the dip, Δχ² = (g/σ)⁴ (the dip is e^-50 smaller there)
    assert out.coupling_upper.values == pytest.approx(SIGMA * level**0.25, rel=2e-3)
    assert out.sm_delta_chi2.values == pytest.approx(DIP, rel=1e-3)
    assert out.bsm_preferred.values.tolist() == [False, True]
    assert out.attrs["reference"] == "sm"


def test_global_reference_says_bsm_preferred_instead_of_no_allowed_coupling():
    with_sm = lim.coupling_limits(dataset(), reference="per_mass", sm=sm_point())
    without = lim.coupling_limits(dataset(), reference="per_mass")
    # per mass: at M = 10 MeV only the dip is allowed, the SM side is excluded; the lowest grid
    # couplings (≈ SM) lie 6 above the minimum
    assert without.status.values.tolist() == ["ok", "ok"]
    assert with_sm.bsm_preferred.values.tolist() == [False, True]
    glob = lim.coupling_limits(dataset(), reference="global", sm=sm_point())
    # global minimum at M = 10 MeV; at 1 MeV the SM and its whole row lie ≥ 5 above it
    assert glob.status.values.tolist() == ["bsm_preferred", "ok"]
    assert glob.sm_delta_chi2.values == pytest.approx([6.0, 6.0], rel=1e-3)
    assert bool(glob.at_grid_edge.values[0]) and np.isnan(glob.coupling_upper.values[0])


def test_sm_reference_needs_the_sm_point():
    with pytest.raises(lim.ConfigError, match="reference: 'sm' needs"):
        lim.coupling_limits(dataset(), reference="sm")
    with pytest.raises(lim.ConfigError, match="allowed: global, per_mass, sm"):
        lim.coupling_limits(dataset(), reference="median")


def test_parameter_intervals_against_the_sm_point():
    x = np.linspace(-1.0, 1.0, 401)
    chi2 = ((x - 0.5) / 0.1) ** 2
    ds = xr.Dataset({"chi2_a": (("eps",), chi2)}, coords={"eps": ("eps", x, {"scale": "lin"})})
    sm = xr.Dataset({"chi2_a": (("eps",), [25.0])}, coords={"eps": [0.0]})  # χ² at ε = 0
    out = lim.parameter_intervals(ds, reference="sm", sm=sm)
    # Δχ² = χ² − 25 ≤ t  ⇔  |x − 0.5| ≤ 0.1 √(25 + t): from −0.026 to beyond the grid
    half = 0.1 * np.sqrt(25.0 + lim.threshold(0.9, 1))
    assert float(out.lower[0, 0]) == pytest.approx(0.5 - half, abs=1e-3)
    assert float(out.upper[0, 0]) == 1.0 and bool(out.upper_at_edge[0, 0])
    assert out.attrs["bsm_preferred"] and out.attrs["sm_delta_chi2"] == pytest.approx(25.0)
    default = lim.parameter_intervals(ds, sm=sm)
    assert float(default.lower[0, 0]) == pytest.approx(0.5 - 0.1 * lim.threshold(0.9, 1) ** 0.5,
                                                       abs=1e-3)


def test_cl_defaults_to_the_stores_confidence_level(tmp_path, capsys):
    path = str(tmp_path / "s.zarr")
    dataset("confidence_level = 0.95\n").to_zarr(path, consolidated=False)
    run(["limits", path, "--format", "json", "--reference", "per_mass"])
    out = json.loads(capsys.readouterr().out)
    assert out["cl"] == 0.95 and out["threshold"] == pytest.approx(3.841, abs=1e-3)
    run(["limits", path, "--format", "json", "--cl", "0.68", "--reference", "per_mass"])
    assert json.loads(capsys.readouterr().out)["cl"] == 0.68


def test_table_names_the_masses_where_bsm_is_preferred():
    result = lim.coupling_limits(dataset(), reference="global", sm=sm_point())
    text = limits_cmd.limits_table(result)
    assert "bsm_preferred" in text
    # against the global minimum (at 10 MeV) the SM lies 6 above it at both masses
    assert "prefer a BSM signal over the SM" in text and "2 of 2 masses (MeV: 1, 10)" in text
    rows = limits_cmd.limits_json(result)["limits"]
    assert [r["bsm_preferred"] for r in rows] == [True, True]


def test_plot_names_bsm_preference_and_draws_the_sm_reference_curve():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nubound.storage import plots

    ds = dataset()
    fig, ax = plt.subplots()
    curves = plots._curves(ds, ["a"], "profile")
    plots._draw_mediator(ax, ds, curves, 0.9, 1, "profile", "mass_MeV", "sm", sm_point())
    notes = [t.get_text() for t in ax.texts]
    assert any("prefer BSM over the SM" in t and "a: 1 masses" in t for t in notes)
    # the SM-reference boundary sits at σ t^(1/4) at both masses (the rise above the SM point)
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "a"]
    y = np.asarray(line.get_ydata(), dtype=float)
    assert np.allclose(y, SIGMA * lim.threshold(0.9, 1) ** 0.25, rtol=5e-3)
    plt.close(fig)
