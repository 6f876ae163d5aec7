"""The scanner takes xenonnt_b8 like the other experiments: a block of a real spec evaluates
to the experiment's own χ² of the model's signal (signal at five yield nodes), observed and
Asimov, and the provenance hashes pin the release through its manifest."""

from __future__ import annotations

import numpy as np

from nubound.physics.experiments import get_experiment
from nubound.physics.models import get_model
from nubound.scanner.catalogue import default_registry
from nubound.scanner.evaluate import evaluate
from nubound.scanner.plan import plan_blocks
from nubound.scanner.spec import parse_spec

SPEC = """
spec_version = 1
experiments = ["coherent_ar", "xenonnt_b8"]
store = "unused.zarr"
data = "{data}"
[model]
name = "magnetic_moment"
parameters = {{ mu_mu = 0.0 }}
[[axes]]
name = "mu_e"
unit = "mu_B"
values = [0.0, 1e-10, 1e-9, 5e-9]
"""


def test_block_equals_direct_chi2():
    for kind in ("observed", "asimov"):
        spec = parse_spec(SPEC.format(data=kind))
        block = next(iter(plan_blocks(spec.shape, spec.chunks)))
        chi2 = evaluate(spec, block).chi2["xenonnt_b8"]
        exp = get_experiment("xenonnt_b8")
        judge = exp if kind == "observed" else exp.asimov()
        mu = np.array([0.0, 1e-10, 1e-9, 5e-9])
        signal = get_model("magnetic_moment").signal_counts(exp, None, {"mu_e": mu,
                                                                        "mu_mu": 0.0})
        np.testing.assert_array_equal(chi2, judge.chi2(signal))
        assert np.all(np.diff(chi2[1:]) > 0)  # larger moments, worse fits


def test_data_hashes_pin_the_release_manifest():
    hashes = default_registry().data_hashes(("xenonnt_b8",))
    assert "fluxes/b8spectrum.txt" in hashes
    manifest = [k for k in hashes if k.startswith("xenonnt-b8/")]
    assert len(manifest) == 1 and hashes[manifest[0]] == (
        "d531df5eabe8988d71891ac6011f1a6589ca53b143c1e0c0d9d0666b4ee6c58a")
