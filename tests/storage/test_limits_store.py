"""Limits on a real store written by a short scan (scanner.run_scan, storage.store).

The scan uses the scanner tests' fake physics (a destructive light-vector-like rescaling of an
SM spectrum and profiled Poisson χ²) on an in-process Dask client. The limits are checked
against the same fake physics evaluated directly (no grid, no store) with a root finder.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from nubound.storage import limits as lim
from nubound.storage.store import open_store

_FAKE = Path(__file__).resolve().parents[1] / "scanner" / "fake_physics.py"


def load_fake_physics():
    """Import tests/scanner/fake_physics.py by path (as tests/scanner/conftest.py does)."""
    name = "nubound_test_fake_physics"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _FAKE)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    from distributed import Client

    from nubound.scanner.run import run_scan
    from nubound.scanner.spec import parse_spec

    fake = load_fake_physics()
    url = str(tmp_path_factory.mktemp("scan") / "scan.zarr")
    registry = fake.FakeRegistry()
    spec = parse_spec(fake.spec_text(url, n_mass=8, n_coupling=161, chunks=(4, 81)),
                      registry=registry)
    with Client(processes=False, n_workers=1, threads_per_worker=1,
                dashboard_address=":0") as client:
        run_scan(spec, client, registry=registry, progress=None)
    return fake, registry, url


def direct_chi2(fake, registry, mass_MeV: float, coupling: np.ndarray,
                quenching: str) -> np.ndarray:
    """fake_a (one quenching choice, or profiled) + fake_b, straight from the fake physics."""
    model = registry.get_model("fake_vector")
    params = {"mass_MeV": np.full_like(coupling, mass_MeV), "coupling": coupling,
              "interference": "standard"}
    exp_a, exp_b = registry.get_experiment("fake_a"), registry.get_experiment("fake_b")
    choices = ("a", "b", "c") if quenching == "profile" else (quenching,)
    chi2_a = np.min([exp_a.chi2(model.signal_counts(exp_a, q, params)) for q in choices], axis=0)
    return chi2_a + exp_b.chi2(model.signal_counts(exp_b, None, params))


@pytest.mark.parametrize("quenching", ["profile", "c"])
def test_first_crossing_matches_the_direct_root(scanned, quenching):
    fake, registry, url = scanned
    ds = open_store(url)
    res = lim.coupling_limits(ds, quenching=quenching, reference="per_mass")
    assert res.attrs["model"] == "fake_vector" and res.attrs["data"] == "observed"
    assert res.attrs["experiments"] == ["fake_a", "fake_b"]
    g = ds.coupling.values
    n_inside = 0
    for i, mass in enumerate(ds.mass_MeV.values):
        grid = direct_chi2(fake, registry, float(mass), g, quenching)
        level = grid.min() + lim.threshold(0.9, 1)
        if not np.any(grid > level):  # nothing excluded on the grid at this mass
            assert res.status.values[i] == "above_grid" and bool(res.at_grid_edge[i])
            continue
        k = int(np.argmax(grid > level))  # first excluded grid point

        def excess(x, m=float(mass), lv=level):
            return direct_chi2(fake, registry, m, np.array([x]), quenching)[0] - lv

        root = brentq(excess, g[k - 1], g[k], xtol=1e-14, rtol=1e-12)
        assert float(res.coupling_first_crossing[i]) == pytest.approx(root, rel=5e-3)  # step 6%
        n_inside += 1
    assert n_inside >= 4
