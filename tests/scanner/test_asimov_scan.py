"""End to end with real physics: a tiny ``data = "asimov"`` scan, its store, limits and plot.

vector_universal (docs/physics.md#vector-mediator) on COHERENT Ar, 2 masses × 8 couplings, run by
``run_scan`` on
an in-process Dask client. On Asimov data the SM is the best fit: the Δχ² minimum sits at the
smallest coupling (the SM limit), and the 90 % CL upper limit lies inside the grid.
"""

import numpy as np
import pytest

from nubound.storage import limits as lim
from nubound.storage.store import open_store, read_attrs

MASSES_MeV = (1.0, 100.0)
SPEC = """
spec_version = 1
experiments = ["coherent_ar"]
store = "{store}"
data = "asimov"
[model]
name = "vector_universal"
parameters = {{ interference = "standard" }}
[[axes]]
name = "mass_MeV"
unit = "MeV"
values = [1.0, 100.0]
[[axes]]
name = "coupling"
unit = "1"
scale = "log"
start = 1e-7
stop = 1e-3
n = 8
[chunks]
mass_MeV = 1
coupling = 8
"""


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    from distributed import Client

    from nubound.scanner.run import run_scan
    from nubound.scanner.spec import parse_spec

    url = str(tmp_path_factory.mktemp("asimov") / "asimov.zarr")
    spec = parse_spec(SPEC.format(store=url))
    with Client(processes=False, n_workers=1, threads_per_worker=1,
                dashboard_address=":0") as client:
        result = run_scan(spec, client, progress=None)
    assert result.blocks_computed == result.blocks_total == 2
    return spec, url


def test_store_records_asimov_and_equals_the_physics_directly(scanned):
    from nubound.physics.experiments import get_experiment
    from nubound.physics.models import get_model

    spec, url = scanned
    assert read_attrs(url)["data_kind"] == "asimov"
    chi2 = open_store(url)["chi2_coherent_ar"].values
    assert not np.isnan(chi2).any()
    ar = get_experiment("coherent_ar")
    point = {"mass_MeV": 100.0, "coupling": spec.axes[1].values[5],
             "interference": "standard"}
    signal = get_model("vector_universal").signal_counts(ar, None, point)
    assert chi2[1, 5] == pytest.approx(float(ar.asimov().chi2(signal)), rel=1e-9)
    assert chi2[1, 5] != pytest.approx(float(ar.chi2(signal)), rel=1e-3)  # not the real data


def test_minimum_at_the_sm_and_limits_inside_the_grid(scanned):
    _, url = scanned
    ds = open_store(url)
    chi2 = ds["chi2_coherent_ar"].values
    assert chi2.min() < 1e-6 and np.all(np.argmin(chi2, axis=1) == 0)  # g → 0 is the SM
    assert np.all(np.diff(chi2, axis=1) > 0)  # Δχ² grows with the coupling
    res = lim.coupling_limits(ds, reference="global")
    assert res.attrs["data"] == "asimov"
    assert list(res.status.values) == ["ok", "ok"]
    g = ds.coupling.values
    for i in range(len(MASSES_MeV)):
        upper = float(res.coupling_upper.values[i])
        k = int(np.searchsorted(g, upper))  # the limit is bracketed by the Δχ² = 2.71 crossing
        assert chi2[i, k - 1] < lim.threshold(0.9, 1) < chi2[i, k]
    # a heavier mediator suppresses the new term by (q² + M²)^-1: weaker limit
    assert res.coupling_upper.values[1] > res.coupling_upper.values[0]


def test_plot_says_asimov(scanned, tmp_path):
    import matplotlib

    from nubound.storage.plots import plot_limits

    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text in the SVG
        path = plot_limits(open_store(scanned[1]), tmp_path / "limits.svg")
    assert "data: asimov" in path.read_text()
