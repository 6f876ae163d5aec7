"""Figures of stored limits (storage/plots.py): files exist and hold the drawn curves."""

import argparse
from pathlib import Path

import matplotlib.image
import numpy as np
import xarray as xr

from nubound.jobs import limits_cmd
from nubound.storage.plots import plot_limits

MASS_MeV = np.geomspace(0.1, 1000.0, 41)
COUPLING = np.geomspace(1e-7, 1e-2, 121)


def mediator_store(path: Path) -> str:
    """Two experiments, one with two quenching choices; the limit rises as M² above 10 MeV and
    a destructive-interference band (Δχ² back to 0 at g0(M)) sits above the first crossing."""
    m = MASS_MeV[:, None]
    sigma = 1e-5 * np.sqrt(1 + (m / 10.0) ** 2)
    g = COUPLING[None, :]
    x = (g / sigma) ** 2
    band = (x * (x - 40.0) / 200.0) ** 2  # zero at g = √40 σ: allowed band from 5.3σ to 6.9σ
    stacked = np.stack([band, 0.3 * band], axis=-1)
    ds = xr.Dataset(
        {"chi2_dresden_ii": (("mass_MeV", "coupling", "quenching"), stacked),
         "chi2_coherent_csi": (("mass_MeV", "coupling"), (g / (10 * sigma)) ** 4)},
        coords={"mass_MeV": ("mass_MeV", MASS_MeV, {"units": "MeV"}),
                "coupling": ("coupling", COUPLING), "quenching": [0, 1]},
        attrs={"model": "universal_vector", "data": "asimov"},
    )
    ds["chi2_dresden_ii"].attrs["quenching_choices"] = ["fef", "ybe"]
    ds.to_zarr(path, consolidated=False)
    return str(path)


def ink(png: Path) -> tuple[float, set]:
    """Fraction of non-white pixels and the set of (coarse) colours drawn."""
    img = matplotlib.image.imread(png)[..., :3]
    drawn = np.any(img < 0.95, axis=-1)
    colours = {tuple(c) for c in np.round(img[drawn] * 4) / 4}
    return float(drawn.mean()), colours


def test_mediator_plot_through_the_command(tmp_path):
    store = mediator_store(tmp_path / "m.zarr")
    out = tmp_path / "limits.png"
    parser = argparse.ArgumentParser()
    limits_cmd.add_limit_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["plot", store, "-o", str(out)])
    assert args.func(args) == 0
    assert out.stat().st_size > 20_000
    fraction, colours = ink(out)
    assert 0.02 < fraction < 0.5
    assert (0.0, 0.0, 0.0) in colours  # the combined curve (black)
    assert len(colours) > 6  # one colour per experiment on top of text and axes


def test_one_parameter_and_nsi_plots(tmp_path):
    mu = np.linspace(0.0, 10.0, 201)
    one = xr.Dataset({"chi2_a": ("mu_e", ((mu - 2) / 1.5) ** 2), "chi2_b": ("mu_e", mu**2 / 4)},
                     coords={"mu_e": mu}, attrs={"model": "magnetic_moment"})
    eps = np.linspace(-1.0, 1.0, 81)
    eu, ed = np.meshgrid(eps, eps, indexing="ij")
    nsi = xr.Dataset(
        {"chi2_a": (("eps_u_ee", "eps_d_ee"), ((2 * eu + ed) / 0.1) ** 2 + (eu / 0.5) ** 2),
         "chi2_b": (("eps_u_ee", "eps_d_ee"), ((eu + 2 * ed) / 0.1) ** 2 + (ed / 0.5) ** 2)},
        coords={"eps_u_ee": eps, "eps_d_ee": eps}, attrs={"model": "nsi", "data": "observed"},
    )
    for name, ds, plane in (("mu", one, None), ("nsi", nsi, None),
                            ("nsi_du", nsi, ("eps_d_ee", "eps_u_ee"))):
        png = plot_limits(ds, tmp_path / f"{name}.png", plane=plane)
        fraction, colours = ink(png)
        assert 0.02 < fraction < 0.5 and len(colours) > 4
