"""A profile that does not converge is counted by the worker, stored with its block and
reported by ``nubound status``, ``nubound limits`` and the plot (storage/fit_status.py).

The pathological signals are real: the universal vector mediator at 20.9 MeV with couplings
near 1.8e-4 predicts ~1e5 times the Dresden-II data (χ² ≈ 5e7); there the Levenberg–Marquardt
fit of the background stops at its damping limit, 6e4 in χ² above Migrad's minimum
(tests/physics/test_dresden_ii_background.py checks that against iminuit).
"""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from nubound.jobs import limits_cmd
from nubound.jobs.scan import main as scan_main
from nubound.physics.experiments import get_experiment
from nubound.physics.models import get_model
from nubound.scanner.plan import plan_blocks
from nubound.scanner.run import compute_block, prepare_store
from nubound.scanner.spec import parse_spec
from nubound.storage.fit_status import fit_failures
from nubound.storage.store import open_store

MASS_MeV = 20.852058572487536
COUPLINGS = [1e-7, 1e-6, 3e-6, 1e-5, 0.99 * 1.7946024402973164e-4, 1.7946024402973164e-4,
             1.005 * 1.7946024402973164e-4, 1e-2]
SPEC = """
spec_version = 1
experiments = ["dresden_ii"]
store = "{store}"
data = "observed"
[model]
name = "vector_universal"
parameters = {{ interference = "standard" }}
[[axes]]
name = "mass_MeV"
unit = "MeV"
values = [{mass!r}, 1e4]
[[axes]]
name = "coupling"
unit = "1"
values = [{couplings}]
[quenching]
dresden_ii = ["fef"]
[chunks]
mass_MeV = 1
coupling = 4
"""


def _direct_unconverged() -> np.ndarray:
    """Unconverged profiles per coupling at MASS_MeV (and none at 10 GeV), straight from the
    experiment."""
    exp = get_experiment("dresden_ii")
    signal = get_model("vector_universal").signal_counts(
        exp, "fef", {"mass_MeV": np.array([[MASS_MeV], [1e4]]),
                     "coupling": np.array([COUPLINGS]), "interference": "standard"})
    bad = ~exp.profile(signal).converged
    assert not bad[1].any()  # a 10 GeV mediator changes little: no pathological signal
    return bad[0]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    url = str(tmp_path_factory.mktemp("fit") / "s.zarr")
    spec = parse_spec(SPEC.format(store=url, mass=MASS_MeV,
                                  couplings=", ".join(map(repr, COUPLINGS))))
    url, store_id = prepare_store(spec)
    for block in plan_blocks(spec.shape, spec.chunks):
        compute_block(spec, block, url, store_id, None)  # the worker's task
    return url


def test_unconverged_profiles_are_stored_per_block(scanned):
    bad = _direct_unconverged()
    assert bad[:4].sum() == 0 and bad[4:].sum() >= 3  # the pathological signals fail
    ds = open_store(scanned)
    np.testing.assert_array_equal(ds["unconverged_dresden_ii"].values,
                                  [[bad[:4].sum(), bad[4:].sum()], [0, 0]])
    assert ds["done"].values.all()


def test_status_says_how_many_and_where(scanned, capsys):
    n = int(_direct_unconverged().sum())
    assert scan_main(["status", scanned]) == 0
    out = capsys.readouterr().out
    assert (f"fit status:  dresden_ii: {n} profiles did not converge (χ² there may lie above "
            "its minimum), in 1 block: mass_MeV 20.9–20.9, coupling 0.000178–0.01") in out


def test_limits_and_plot_warn(scanned, capsys, tmp_path):
    n = int(_direct_unconverged().sum())
    parser = argparse.ArgumentParser(prog="nubound")
    limits_cmd.add_limit_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["limits", scanned, "--format", "json"])
    assert args.func(args) == 0
    err = capsys.readouterr().err
    assert (f"nubound limits: warning: dresden_ii: {n} profiles did not converge") in err
    assert "coupling 0.000178–0.01" in err
    assert fit_failures(open_store(scanned), max_blocks=0) == [
        f"dresden_ii: {n} profiles did not converge (χ² there may lie above its minimum), "
        "in 1 block"]  # the plot's note
    args = parser.parse_args(["plot", scanned, "-o", str(tmp_path / "p.png")])
    assert args.func(args) == 0 and (tmp_path / "p.png").stat().st_size > 0


def test_a_store_where_every_fit_converged_says_so(tmp_path, capsys):
    url = str(tmp_path / "ok.zarr")
    couplings = ", ".join(map(repr, COUPLINGS[:4]))
    spec = parse_spec(SPEC.format(store=url, mass=MASS_MeV, couplings=couplings))
    url, store_id = prepare_store(spec)
    for block in plan_blocks(spec.shape, spec.chunks):
        compute_block(spec, block, url, store_id, None)
    assert scan_main(["status", url]) == 0
    assert "fit status:  every profile converged" in capsys.readouterr().out


def test_a_store_without_the_counts_says_it_does_not_record_them(fake, registry, tmp_path):
    # stores made before the counts existed: workers skip them, the reports say so
    import shutil

    from nubound.scanner.plan import block_at
    from nubound.storage.store import unconverged_name, write_unconverged

    url = str(tmp_path / "old.zarr")
    spec = parse_spec(fake.spec_text(url), registry=registry)
    url, store_id = prepare_store(spec, registry=registry)
    shutil.rmtree(f"{url}/{unconverged_name('fake_a')}")
    write_unconverged(url, store_id, block_at((0, 0), spec.shape, spec.chunks),
                      {"fake_a": 2, "fake_b": 1})
    lines = fit_failures(open_store(url))
    assert lines[0].startswith("fake_a: convergence of the profiles not recorded")
    assert lines[1].startswith("fake_b: 1 profile did not converge (χ² there may lie")
