"""``nubound limits --reference sm`` and the BSM-preference note on a real Dresden-II scan.

With Lindhard quenching the Dresden-II data prefer a light vector mediator coupled to electrons
over the SM (docs/statistics.md#reference-minimum): the SM point's χ² must be the experiment's
own SM χ² (``Experiment.summary``, an independent path through the physics), and the output
must say "bsm_preferred" where no coupling is allowed instead of "below_grid".
"""

import json

import numpy as np
import pytest

from nubound.jobs import limits_cmd
from nubound.jobs.cli import main
from nubound.physics.experiments import get_experiment
from nubound.scanner.serial import run_serial
from nubound.scanner.spec import parse_spec

SPEC = """
spec_version = 1
experiments = ["dresden_ii"]
store = "unused.zarr"
confidence_level = 0.9
data = "observed"
[model]
name = "vector_universal"
[[axes]]
name = "mass_MeV"
unit = "MeV"
values = [0.01, 1.0]
[[axes]]
name = "coupling"
unit = "1"
scale = "log"
start = 1e-7
stop = 1e-3
n = 49
[quenching]
dresden_ii = ["lindhard"]
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("sm") / "lindhard.zarr")
    run_serial(parse_spec(SPEC), path)
    return path


def limits(path: str, *extra: str, capsys) -> dict:
    assert main(["limits", path, "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_sm_point_is_the_experiments_own_sm_chi2(store):
    ds = limits_cmd.open_store(store)
    sm = limits_cmd.sm_dataset(ds)
    expected = get_experiment("dresden_ii").summary("lindhard")["chi2_sm"]
    assert sm.chi2_dresden_ii.values.ravel() == pytest.approx([expected] * 2, rel=1e-6)


def test_global_reference_says_bsm_preferred(store, capsys):
    out = limits(store, capsys=capsys)
    rows = {r["mass_MeV"]: r for r in out["limits"]}
    # at 1 MeV every coupling lies above the threshold, and so does the SM itself
    assert rows[1.0]["status"] == "bsm_preferred" and rows[1.0]["coupling_upper"] is None
    assert all(r["bsm_preferred"] for r in rows.values())
    # the SM lies ≈ 8 above the best fit (light mediator, 0.01 MeV): docs/validation.md
    assert 5.0 < rows[0.01]["sm_delta_chi2"] < 10.0


def test_table_explains_the_preference(store, capsys):
    assert main(["limits", store]) == 0
    captured = capsys.readouterr()
    assert "prefer a BSM signal over the SM" in captured.out
    assert "bsm_preferred" in captured.err and "no allowed coupling" not in captured.out


def test_sm_reference_gives_a_limit_at_every_mass(store, capsys):
    out = limits(store, "--reference", "sm", capsys=capsys)
    assert out["reference"] == "sm"
    ups = [r["coupling_upper"] for r in out["limits"]]
    assert all(u is not None and np.isfinite(u) for u in ups)
    # heavier mediators are weaker: the limit grows with the mass
    assert ups[1] > ups[0]
    # against the minimum at its own mass, the SM is excluded at 0.01 MeV only
    assert [r["bsm_preferred"] for r in out["limits"]] == [True, False]
    assert out["limits"][1]["sm_delta_chi2"] < lim_threshold()


def lim_threshold() -> float:
    from nubound.storage.limits import threshold

    return threshold(0.9, 1)
