"""The `nubound` command line: version, models, predict with parameters and options."""

import json

import pytest

from nubound.jobs.cli import _parse_params, main


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("nubound ")


def test_params_numbers_and_options():
    assert _parse_params(["coupling=1e-4", "interference=flipped"]) == {
        "coupling": 1e-4, "interference": "flipped",
    }


def test_models_json_lists_the_issue_names(capsys):
    assert main(["models", "--json"]) == 0
    names = {m["name"] for m in json.loads(capsys.readouterr().out)}
    assert {"nsi", "magnetic_moment", "scalar_universal", "vector_universal",
            "vector_b_minus_l"} <= names


def test_predict_bsm_point_differs_from_sm_and_bad_names_fail(capsys):
    assert main(["predict", "coherent_csi", "--json"]) == 0
    sm = json.loads(capsys.readouterr().out)
    args = ["predict", "coherent_csi", "--model", "magnetic_moment", "--param", "mu_e=3e-9",
            "--json"]
    assert main(args) == 0
    bsm = json.loads(capsys.readouterr().out)
    # the magnetic moment adds events (no interference) and the χ² reflects them
    assert bsm["signal_events"] > sm["cevns_events"] + sm["electron_events"]
    assert bsm["signal_events"] == pytest.approx(
        bsm["cevns_events"] + bsm["electron_events"], rel=1e-12, abs=0)
    assert main(["predict", "coherent_csi", "--model", "magnetic_moment",
                 "--param", "mu_x=1"]) == 2
    assert "allowed: mu_e, mu_mu" in capsys.readouterr().err
