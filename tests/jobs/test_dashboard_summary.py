"""The page's summary of stores other than a mediator scan, its throughput/ETA and its text."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from nubound.jobs.dashboard.document import format_duration, stats_rows
from nubound.jobs.dashboard.summary import Throughput, summarise


def _store(axes: dict[str, np.ndarray], chunks: dict[str, int], chi2: dict[str, np.ndarray],
           done: np.ndarray, model: str) -> xr.Dataset:
    """An in-memory Dataset laid out like a scan store (storage/store.py)."""
    lines = ["confidence_level = 0.9", "[model]", f'name = "{model}"', "[chunks]",
             *(f"{a} = {c}" for a, c in chunks.items())]
    coords = {a: (a, v, {"units": "1", "scale": "lin"}) for a, v in axes.items()}
    data = {f"chi2_{name}": (tuple(axes), values) for name, values in chi2.items()}
    data["done"] = (tuple(f"block_{a}" for a in axes), done.astype(np.uint8))
    return xr.Dataset(data, coords=coords, attrs={"spec_toml": "\n".join(lines),
                                                 "data_kind": "observed"})


def test_three_axes_region_plane_and_the_third_axis_summarised():
    x = np.linspace(-3, 3, 25)
    z = np.linspace(-2, 2, 5)
    gx, gy, gz = np.meshgrid(x, x, z, indexing="ij")
    done = np.zeros((5, 5, 3))
    done[:, :, 0] = 1
    done[0, 0, :] = 1
    ds = _store({"eps_x": x, "eps_y": x, "eps_z": z}, {"eps_x": 5, "eps_y": 5, "eps_z": 2},
                {"a": gx**2 + gy**2 + gz**2, "b": (gx - 1) ** 2 + gy**2 + 3.0}, done, "nsi")
    s = summarise(ds)
    assert (s["done"]["x"], s["done"]["y"], s["done"]["summarised"]) == ("eps_x", "eps_y",
                                                                         ["eps_z"])
    expected = np.full((5, 5), 1 / 3)
    expected[0, 0] = 1.0
    np.testing.assert_allclose(s["done"]["fraction"], expected)
    assert s["points_done"] == 25 * 25 * 2 + 5 * 5 * 3  # the first z block holds 2 of 5 values
    plot = s["plot"]
    assert (plot["kind"], plot["dof"]) == ("region", 2)
    assert plot["threshold"] == pytest.approx(stats.chi2.ppf(0.9, 2))
    # experiment a alone: Δχ² = x² + y² (z profiled): a circle of radius √threshold
    a = next(c for c in plot["curves"] if c["label"] == "a")
    radius = np.hypot(np.concatenate(a["xs"]), np.concatenate(a["ys"]))
    np.testing.assert_allclose(radius, np.sqrt(plot["threshold"]), atol=0.02)
    # the combination: Δχ² = 2 (x - 1/2)² + 2 y², a circle of radius √(threshold / 2) at (1/2, 0)
    comb = next(c for c in plot["curves"] if c["label"] == "combined")
    radius = np.hypot(np.concatenate(comb["xs"]) - 0.5, np.concatenate(comb["ys"]))
    np.testing.assert_allclose(radius, np.sqrt(plot["threshold"] / 2), atol=0.02)


def test_one_parameter_model_shows_delta_chi2_profiles():
    mu = np.linspace(0.0, 4.0, 41)
    ds = _store({"mu_e": mu}, {"mu_e": 10}, {"a": (mu - 1.0) ** 2 / 0.25 + 7.0},
                np.ones(5), "magnetic_moment")
    s = summarise(ds)
    assert (s["done"]["x"], s["done"]["y"]) == ("mu_e", None)
    assert np.shape(s["done"]["fraction"]) == (5, 1)
    plot = s["plot"]
    assert (plot["kind"], plot["dof"], [c["label"] for c in plot["curves"]]) == \
        ("profile", 1, ["a"])  # one experiment: no "combined" curve
    np.testing.assert_allclose(plot["curves"][0]["ys"][0], (mu - 1.0) ** 2 / 0.25, atol=1e-12)
    assert plot["y_range"] == pytest.approx([0.0, 4 * stats.chi2.ppf(0.9, 1)])


def test_throughput_and_eta():
    t = Throughput(window_s=100.0)
    assert t.rate() is None and t.eta_s(10) is None
    t.add(0, now=0.0)
    t.add(1000, now=10.0)
    assert t.rate() == pytest.approx(100.0) and t.eta_s(500) == pytest.approx(5.0)
    t.add(1000, now=20.0)  # no progress for 10 s: the rate over the window drops
    assert t.rate() == pytest.approx(50.0)
    t.add(4000, now=200.0)  # samples older than the window are dropped
    assert t.rate() == pytest.approx(3000 / 180.0)
    assert t.eta_s(0) == 0.0


def test_header_rows_and_refinement_level():
    s = {"blocks_done": 3, "blocks_total": 12, "points_done": 3000, "points_total": 12000,
         "points_per_s": 250.0, "eta_s": 36.0, "retried": 2, "failed": 1,
         "failed_blocks": ["ab12-0-1"]}
    rows = dict(stats_rows(s))
    assert rows["blocks done"] == "3 / 12 (25.0 %)" and rows["throughput"] == "250 points/s"
    assert rows["ETA"] == "36 s" and rows["retried blocks"] == "2"
    assert rows["failed blocks"] == "1 (ab12-0-1)" and "refinement level" not in rows
    assert dict(stats_rows(s | {"level": 2}))["refinement level"] == "2"
    assert [format_duration(v) for v in (None, 59.4, 61, 3725)] == ["–", "59 s", "1 min 01 s",
                                                                     "1 h 02 min"]
