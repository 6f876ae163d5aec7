"""Allowed intervals and 2-D contours against analytic boundaries (storage/limits, contours)."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from nubound.storage import limits as lim
from nubound.storage.contours import allowed_intervals_1d, axis_scale, contour_paths

T1 = lim.threshold(0.9, 1)
T2 = lim.threshold(0.9, 2)


def reopen(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """Write ``ds`` to a Zarr store and open it again lazily (dask-backed)."""
    ds.to_zarr(path, consolidated=False, mode="w")
    return xr.open_zarr(path, consolidated=False)


def test_axis_scale_reads_attrs_then_spacing():
    assert axis_scale(np.geomspace(1e-3, 1.0, 10)) == "log"
    assert axis_scale(np.linspace(0.0, 1.0, 10)) == "linear"
    assert axis_scale(np.linspace(1.0, 2.0, 10)) == "linear"
    coord = xr.DataArray(np.geomspace(1, 10, 5), dims="g", attrs={"scale": "lin"})
    assert axis_scale(coord) == "linear"


def test_destructive_interference_band_gives_three_boundaries(tmp_path):
    # χ²(g) = (g²(g² − g0²)/k)²: SM-like at g → 0 and again at g = g0 (cancellation band).
    # Boundaries solve g²(g² − g0²) = ±k√t; with 4k√t = g0⁴/2 the "−" branch has two roots.
    g0 = 1e-4
    k = g0**4 / (8 * np.sqrt(T1))
    g = np.geomspace(1e-6, 1e-3, 601)
    chi2 = (g**2 * (g**2 - g0**2) / k) ** 2
    ds = reopen(xr.Dataset({"chi2_coherent_csi": (("mass_MeV", "coupling"), chi2[None, :])},
                           coords={"mass_MeV": [10.0], "coupling": g}), tmp_path / "i.zarr")
    res = lim.coupling_limits(ds)
    root_minus = np.sqrt(g0**4 - 4 * k * np.sqrt(T1))
    g1 = np.sqrt((g0**2 - root_minus) / 2)
    g2 = np.sqrt((g0**2 + root_minus) / 2)
    g3 = np.sqrt((g0**2 + np.sqrt(g0**4 + 4 * k * np.sqrt(T1))) / 2)
    assert int(res.n_allowed_intervals[0]) == 2
    np.testing.assert_allclose(res.allowed_upper.values[0], [g1, g3], rtol=1e-3)
    np.testing.assert_allclose(res.allowed_lower.values[0, 1], g2, rtol=1e-3)
    assert res.lower_at_edge.values[0].tolist() == [True, False]
    # the upper limit is the outer boundary; the first crossing is where exclusion starts
    assert float(res.coupling_upper[0]) == pytest.approx(g3, rel=1e-3)
    assert float(res.coupling_first_crossing[0]) == pytest.approx(g1, rel=1e-3)


def test_one_parameter_interval_magnetic_moment(tmp_path):
    # √Δχ² of a Gaussian is linear in μ: the interpolated ends are exact (not grid-limited)
    mu = np.linspace(0.0, 10.0, 1001)  # in 1e-11 μ_B, say; linear grid that starts at 0
    chi2 = np.stack([((mu - 2.0) / 1.0) ** 2, (mu / 1.5) ** 2])  # two experiments
    ds = reopen(xr.Dataset({"chi2_a": ("mu_e", chi2[0]), "chi2_b": ("mu_e", chi2[1])},
                           coords={"mu_e": mu}), tmp_path / "mu.zarr")
    one = lim.parameter_intervals(ds, experiments=["a"])
    lo, hi = float(one.lower[0, 0]), float(one.upper[0, 0])
    assert (lo, hi) == pytest.approx((2.0 - np.sqrt(T1), 2.0 + np.sqrt(T1)), abs=1e-9)
    assert float(one.best_fit[0]) == pytest.approx(2.0)
    other = lim.parameter_intervals(ds, experiments=["b"])
    assert bool(other.lower_at_edge[0, 0]) and not bool(other.upper_at_edge[0, 0])
    assert float(other.upper[0, 0]) == pytest.approx(1.5 * np.sqrt(T1), abs=1e-9)
    # combination of two Gaussians: mean and variance of the product
    both = lim.parameter_intervals(ds)
    var = 1 / (1 / 1.0 + 1 / 1.5**2)
    mean = var * (2.0 / 1.0)
    expected = (mean - np.sqrt(T1 * var), mean + np.sqrt(T1 * var))
    # the best fit (1.2308) is off the grid: Δχ² is taken against the grid minimum (≤ 1e-5 off)
    assert (float(both.lower[0, 0]), float(both.upper[0, 0])) == pytest.approx(expected, abs=1e-4)


def test_nsi_intervals_after_profiling_the_other_epsilon(tmp_path):
    # χ² = v·C⁻¹·v, v = (εu − cu, εd − cd): profiled 1-D Δχ² = (εu − cu)²/Cuu
    cov = np.array([[0.04, -0.03], [-0.03, 0.05]])
    inv = np.linalg.inv(cov)
    cu, cd = 0.1, -0.05
    eu, ed = np.linspace(-1.0, 1.0, 401), np.linspace(-1.0, 1.0, 401)
    du, dd = np.meshgrid(eu - cu, ed - cd, indexing="ij")
    chi2 = inv[0, 0] * du**2 + 2 * inv[0, 1] * du * dd + inv[1, 1] * dd**2
    ds = reopen(xr.Dataset({"chi2_dresden_ii": (("eps_u_ee", "eps_d_ee"), chi2)},
                           coords={"eps_u_ee": eu, "eps_d_ee": ed}), tmp_path / "nsi.zarr")
    res = lim.parameter_intervals(ds)
    for i, (c, var) in enumerate([(cu, cov[0, 0]), (cd, cov[1, 1])]):
        assert res.parameter.values[i] == ["eps_u_ee", "eps_d_ee"][i]
        got = (float(res.lower[i, 0]), float(res.upper[i, 0]))
        assert got == pytest.approx((c - np.sqrt(T1 * var), c + np.sqrt(T1 * var)), abs=2e-3)
    marg = lim.parameter_intervals(ds, nuisance="marginalize")  # Gaussian: same intervals
    np.testing.assert_allclose(marg.upper.values, res.upper.values, atol=2e-3)


def test_degenerate_nsi_solutions_give_two_intervals():
    # Δχ² = (ε(ε − a)/k)²: SM at ε = 0 and the "flipped" solution at ε = a
    a, k = 0.6, 0.02
    eps = np.linspace(-0.2, 0.8, 2001)
    ivs = allowed_intervals_1d(eps, (eps * (eps - a) / k) ** 2, T1)
    r = np.sqrt(a**2 / 4 + k * np.sqrt(T1))  # ε(ε−a) = k√t  ⇒  ε = a/2 ± r
    s = np.sqrt(a**2 / 4 - k * np.sqrt(T1))  # ε(ε−a) = −k√t ⇒  ε = a/2 ± s
    expected = [(a / 2 - r, a / 2 - s), (a / 2 + s, a / 2 + r)]
    assert [(iv.lower, iv.upper) for iv in ivs] == [pytest.approx(e, abs=1e-5) for e in expected]
    assert allowed_intervals_1d(eps, np.where(eps > 0.5, np.nan, 0.0), T1) is None


def test_circle_contour_has_the_known_radius(tmp_path):
    r0 = 0.8
    x, y = np.linspace(-3.0, 3.0, 121), np.linspace(-2.5, 3.5, 131)
    chi2 = (x[:, None] ** 2 + y[None, :] ** 2) / r0**2
    ds = reopen(xr.Dataset({"chi2_e": (("x", "y"), chi2)}, coords={"x": x, "y": y}),
                tmp_path / "c.zarr")
    paths = contour_paths(lim.delta_chi2(ds.chi2_e.compute()), T2, x="x", y="y")
    assert paths.sizes["path"] == 1
    assert bool(paths.closed[0]) and not bool(paths.at_grid_edge[0])
    radius = np.hypot(paths.x.values, paths.y.values)
    # chords of a circle of radius R ≈ 1.7 on a 0.05 grid: inside by at most h²/(8R) ~ 2e-4
    np.testing.assert_allclose(radius, r0 * np.sqrt(T2), rtol=1e-3)


def test_log_contour_and_edge_flag():
    gx, gy = np.geomspace(1e-3, 1e3, 121), np.geomspace(1e-3, 1e3, 121)
    lx, ly = np.log(gx)[:, None], np.log(gy)[None, :]
    inside = xr.DataArray((lx**2 + ly**2), dims=("m", "g"), coords={"m": gx, "g": gy})
    paths = contour_paths(inside, T2, x="m", y="g")
    assert paths.attrs["x_scale"] == "log" and paths.attrs["y_scale"] == "log"
    np.testing.assert_allclose(np.hypot(np.log(paths.x), np.log(paths.y)), np.sqrt(T2),
                               rtol=2e-3)
    edge = xr.DataArray(((lx - np.log(1e3)) ** 2 + ly**2), dims=("m", "g"),
                        coords={"m": gx, "g": gy})
    open_path = contour_paths(edge, T2, x="m", y="g")
    assert bool(open_path.at_grid_edge[0]) and not bool(open_path.closed[0])


def test_allowed_region_of_two_experiments_is_the_combined_ellipse(tmp_path):
    # two degenerate bands (each constrains one combination) combine into the ellipse
    # v·(A + B)·v = t(2 dof); a third, profiled axis (flat in χ²) must not change it
    eu, ed, extra = np.linspace(-1, 1, 161), np.linspace(-1, 1, 161), np.array([0.0, 1.0])
    u, d, _ = np.meshgrid(eu, ed, extra, indexing="ij")
    dims = ("eps_u_ee", "eps_d_ee", "eps_u_mumu")
    ds = reopen(xr.Dataset(
        {"chi2_a": (dims, ((2 * u + d) / 0.2) ** 2), "chi2_b": (dims, ((u - d) / 0.3) ** 2)},
        coords={"eps_u_ee": eu, "eps_d_ee": ed, "eps_u_mumu": extra}), tmp_path / "r.zarr")
    region = lim_contours_allowed_region(ds)
    assert region.sizes["path"] == 1 and bool(region.closed[0])
    assert region.attrs["dof"] == 2 and region.attrs["experiments"] == ["a", "b"]
    xv, yv = region.x.values, region.y.values
    q = ((2 * xv + yv) / 0.2) ** 2 + ((xv - yv) / 0.3) ** 2
    np.testing.assert_allclose(q, T2, rtol=2e-3)
    assert (region.attrs["best_fit_x"], region.attrs["best_fit_y"]) == (0.0, 0.0)


def lim_contours_allowed_region(ds):
    from nubound.storage.contours import allowed_region

    return allowed_region(ds, "eps_u_ee", "eps_d_ee")
