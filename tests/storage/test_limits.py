"""Limits from synthetic χ² stores with analytic answers (storage/limits.py).

Every store is written to a temporary Zarr and reopened, so the dask-backed path is exercised.
"""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from nubound.physics.errors import ConfigError
from nubound.storage import limits as lim

MASS_MeV = np.geomspace(0.1, 1000.0, 6)
COUPLING = np.geomspace(1e-7, 1e-3, 401)


def reopen(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """Write ``ds`` to a Zarr store and open it again lazily."""
    ds.to_zarr(path, consolidated=False, mode="w")
    out = xr.open_zarr(path, consolidated=False)
    assert all(out[v].chunks is not None for v in out.data_vars)  # dask-backed
    return out


def quartic(sigma_by_mass: np.ndarray) -> np.ndarray:
    """χ² = (g/σ(M))⁴ — the rate shift ∝ g² of a mediator, squared; limit g = σ t^(1/4)."""
    return (COUPLING[None, :] / sigma_by_mass[:, None]) ** 4


def mediator_store(tmp_path: Path, **grids: np.ndarray) -> xr.Dataset:
    ds = xr.Dataset(
        {f"chi2_{k}": (("mass_MeV", "coupling"), v) for k, v in grids.items()},
        coords={"mass_MeV": ("mass_MeV", MASS_MeV, {"units": "MeV", "scale": "log"}),
                "coupling": ("coupling", COUPLING, {"units": "1", "scale": "log"})},
        attrs={"model": "universal_vector", "data": "asimov"},
    )
    return reopen(ds, tmp_path / "store.zarr")


def test_threshold_matches_closed_forms():
    # 2 dof: P(χ² > t) = exp(-t/2) exactly; 1 dof: t = (Φ⁻¹((1+CL)/2))² with Φ⁻¹(0.95) = 1.644854
    assert lim.threshold(0.9, 2) == pytest.approx(-2 * np.log(0.1), rel=1e-12)
    assert lim.threshold(0.9, 1) == pytest.approx(1.6448536269514722**2, rel=1e-12)
    with pytest.raises(ConfigError, match="cl"):
        lim.threshold(90, 1)
    with pytest.raises(ConfigError, match="dof"):
        lim.threshold(0.9, 0)


def test_quartic_gives_the_analytic_limit_between_grid_points(tmp_path):
    sigma = np.geomspace(1e-5, 1e-4, MASS_MeV.size)
    ds = mediator_store(tmp_path, dresden_ii=quartic(sigma))
    res = lim.coupling_limits(ds, cl=0.9, dof=1)
    expected = sigma * lim.threshold(0.9, 1) ** 0.25
    # ln Δχ² is linear in ln g for a power law: exact between grid points (2.3 % apart)
    np.testing.assert_allclose(res.coupling_upper.values, expected, rtol=1e-6)
    on_grid = COUPLING[np.searchsorted(COUPLING, expected)]
    assert np.all(np.abs(res.coupling_upper.values / on_grid - 1) > 1e-6)  # not snapped
    assert not res.at_grid_edge.any()
    assert list(res.status.values) == ["ok"] * MASS_MeV.size
    assert res.attrs["dof"] == 1 and res.attrs["threshold"] == lim.threshold(0.9, 1)
    assert res.attrs["experiments"] == ["dresden_ii"] and res.attrs["data"] == "asimov"
    two = lim.coupling_limits(ds, cl=0.9, dof=2)
    np.testing.assert_allclose(two.coupling_upper.values, sigma * lim.threshold(0.9, 2) ** 0.25,
                               rtol=1e-6)


def test_sum_of_two_experiments_gives_the_analytic_combination(tmp_path):
    s1, s2 = np.full(MASS_MeV.size, 3e-5), np.geomspace(1e-5, 1e-4, MASS_MeV.size)
    ds = mediator_store(tmp_path, coherent_csi=quartic(s1), coherent_ar=quartic(s2))
    res = lim.coupling_limits(ds, experiments=["coherent_csi", "coherent_ar"])
    # (g/s1)⁴ + (g/s2)⁴ = t  ⇒  g = t^(1/4) (s1⁻⁴ + s2⁻⁴)^(-1/4)
    expected = lim.threshold(0.9, 1) ** 0.25 * (s1**-4.0 + s2**-4.0) ** -0.25
    np.testing.assert_allclose(res.coupling_upper.values, expected, rtol=1e-6)
    assert res.attrs["experiments"] == ["coherent_csi", "coherent_ar"]
    total = lim.combined_chi2(ds)
    np.testing.assert_allclose(total.values, quartic(s1) + quartic(s2))


def test_limits_outside_the_grid_are_flagged_never_quoted(tmp_path):
    sigma = np.full(MASS_MeV.size, 3e-5)
    sigma[0] = 1.0  # far above the grid: every coupling allowed
    chi2 = quartic(sigma)
    chi2[-1] += 100.0  # this mass is excluded everywhere (Δχ² ≥ 100 against the global minimum)
    chi2[2, 17] = np.nan  # a chunk not computed yet
    ds = mediator_store(tmp_path, dresden_ii=chi2)
    res = lim.coupling_limits(ds)
    assert list(res.status.values) == ["above_grid", "ok", "incomplete", "ok", "ok", "below_grid"]
    assert list(res.at_grid_edge.values) == [True, False, False, False, False, True]
    assert np.isnan(res.coupling_upper.values[[0, 2, 5]]).all()
    assert np.isfinite(res.coupling_upper.values[[1, 3, 4]]).all()
    # raster scan: Δχ² against the minimum at each mass allows the lowest couplings at the last
    raster = lim.coupling_limits(ds, reference="per_mass")
    assert raster.status.values[-1] == "ok"


def test_quenching_profile_is_the_minimum_over_choices(tmp_path):
    sig = {"iron_filter": 2e-5, "ybe": 5e-5, "lindhard": 3e-5}
    stacked = np.stack([quartic(np.full(MASS_MeV.size, s)) for s in sig.values()], axis=-1)
    dims = ("mass_MeV", "coupling", "quenching")
    coords = {"mass_MeV": MASS_MeV, "coupling": COUPLING}
    by_name = xr.Dataset({"chi2_dresden_ii": (dims, stacked)},
                         coords=coords | {"quenching": list(sig)})
    by_index = xr.Dataset({"chi2_dresden_ii": (dims, stacked, {"quenching_choices": list(sig)})},
                          coords=coords | {"quenching": np.arange(3)})
    store_style = xr.Dataset(
        {"chi2_dresden_ii": (dims[:2] + ("quenching_dresden_ii",), stacked)},
        coords=coords | {"quenching_dresden_ii": ("quenching_dresden_ii", np.arange(3),
                                                  {"choices": list(sig)})})
    t4 = lim.threshold(0.9, 1) ** 0.25
    for k, raw in enumerate((by_index, store_style, by_name)):
        ds = reopen(raw, tmp_path / f"q{k}.zarr") if k < 2 else raw  # <U coords: in memory only
        np.testing.assert_array_equal(lim.experiment_chi2(ds, "dresden_ii").values,
                                      stacked.min(axis=-1))
        prof = lim.coupling_limits(ds)
        np.testing.assert_allclose(prof.coupling_upper.values, 5e-5 * t4, rtol=1e-6)  # weakest
        for name, s in sig.items():
            fixed = lim.coupling_limits(ds, quenching=name)
            np.testing.assert_allclose(fixed.coupling_upper.values, s * t4, rtol=1e-6)
            assert fixed.attrs["quenching"] == name
        with pytest.raises(ConfigError, match="allowed: profile, iron_filter, ybe, lindhard"):
            lim.experiment_chi2(ds, "dresden_ii", "chicago")


def test_named_quenching_per_experiment_and_unknown_experiment(tmp_path):
    stacked = np.stack([quartic(np.full(MASS_MeV.size, s)) for s in (2e-5, 5e-5)], axis=-1)
    ds = xr.Dataset(
        {"chi2_dresden_ii": (("mass_MeV", "coupling", "quenching"), stacked),
         "chi2_coherent_csi": (("mass_MeV", "coupling"), quartic(np.full(MASS_MeV.size, 4e-5)))},
        coords={"mass_MeV": MASS_MeV, "coupling": COUPLING, "quenching": ["a", "b"]},
    )
    chi2 = lim.combined_chi2(ds, ["dresden_ii", "coherent_csi"], quenching={"dresden_ii": "b"})
    np.testing.assert_allclose(chi2.values, stacked[..., 1] + quartic(np.full(6, 4e-5)))
    assert chi2.attrs["quenching"] == "dresden_ii=b,coherent_csi=profile"
    with pytest.raises(ConfigError, match="available: coherent_csi, dresden_ii"):
        lim.combined_chi2(ds, ["coherent_ar"])


def test_grids_on_different_axes_are_not_combined():
    a = xr.DataArray(np.zeros((2, 3)), dims=("mass_MeV", "coupling"),
                     coords={"mass_MeV": [1.0, 2.0], "coupling": [1.0, 2.0, 3.0]})
    b = xr.DataArray(np.zeros(4), dims=("mu_e",), coords={"mu_e": np.arange(4.0)})
    with pytest.raises(ConfigError, match="cannot combine grids on different axes"):
        lim.combined_chi2(xr.Dataset({"chi2_x": a, "chi2_y": b}))


def test_marginalize_flat_prior_over_a_correlated_gaussian(tmp_path):
    # χ² = v·C⁻¹·v for v = (x, y); ∫ e^{-χ²/2} dy = √(2π σc²) e^{-x²/(2 Cxx)}, σc² = 1/(C⁻¹)yy.
    cov = np.array([[1.0, 0.6], [0.6, 2.0]])
    inv = np.linalg.inv(cov)
    x, y = np.linspace(-3.0, 3.0, 61), np.linspace(-20.0, 20.0, 801)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    chi2 = inv[0, 0] * xx**2 + 2 * inv[0, 1] * xx * yy + inv[1, 1] * yy**2
    ds = reopen(xr.Dataset({"chi2_e": (("x", "y"), chi2)}, coords={"x": x, "y": y}),
                tmp_path / "g.zarr")
    out = lim.reduce_axes(ds.chi2_e, ["y"], "marginalize", prior="flat").compute()
    expected = x**2 / cov[0, 0] - 2 * np.log(np.sqrt(2 * np.pi / inv[1, 1]) / (y[-1] - y[0]))
    np.testing.assert_allclose(out.values, expected, rtol=1e-9, atol=1e-9)
    prof = lim.reduce_axes(ds.chi2_e, ["y"], "profile").compute()
    np.testing.assert_allclose(prof.values, x**2 / cov[0, 0], atol=1e-2)  # grid step in y


def test_marginalize_log_prior_analytic(tmp_path):
    # χ² = ((ln y − μ)/s)² + x²: ∫ e^{-χ²/2} d ln y = √(2π) s e^{-x²/2}, prior 1/ln(y1/y0).
    mu, s = np.log(1e-2), 0.7
    x, y = np.linspace(-2.0, 2.0, 5), np.geomspace(1e-6, 1e2, 2001)
    chi2 = ((np.log(y)[None, :] - mu) / s) ** 2 + (x**2)[:, None]
    ds = reopen(xr.Dataset({"chi2_e": (("x", "y"), chi2)}, coords={"x": x, "y": y}),
                tmp_path / "l.zarr")
    out = lim.reduce_axes(ds.chi2_e, ["y"], "marginalize", prior={"y": "log"}).compute()
    expected = x**2 - 2 * np.log(np.sqrt(2 * np.pi) * s / np.log(y[-1] / y[0]))
    np.testing.assert_allclose(out.values, expected, rtol=1e-8)
    with pytest.raises(ConfigError, match="positive axis"):
        lim.reduce_axes(ds.chi2_e, ["x"], "marginalize", prior="log")
    with pytest.raises(ConfigError, match="allowed: profile, marginalize"):
        lim.reduce_axes(ds.chi2_e, ["x"], "integrate")
