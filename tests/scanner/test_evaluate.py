"""Worker evaluation: parameter grids, quenching order, Asimov data; and the real physics API."""

from pathlib import Path

import numpy as np
import pytest

from nubound.physics.errors import ConfigError
from nubound.physics.experiments.base import Experiment
from nubound.scanner.catalogue import PhysicsRegistry
from nubound.scanner.evaluate import block_parameters, evaluate
from nubound.scanner.plan import block_at
from nubound.scanner.run import prepare_store
from nubound.scanner.spec import parse_spec


@pytest.fixture
def spec(fake, registry):
    return parse_spec(fake.spec_text("s.zarr"), registry=registry)


def test_block_parameters_follow_the_axes(spec):
    block = block_at((1, 1), spec.shape, spec.chunks)
    params = block_parameters(spec, block)
    mass = np.broadcast_to(params["mass_MeV"], block.shape)
    coupling = np.broadcast_to(params["coupling"], block.shape)
    assert mass[2, 5] == spec.axes[0].values[4 + 2]
    assert coupling[2, 5] == spec.axes[1].values[8 + 5]
    assert params["interference"] == "standard"


def test_each_point_equals_a_single_point_evaluation(spec, registry):
    block = block_at((2, 1), spec.shape, spec.chunks)
    out = evaluate(spec, block, registry=registry).chi2
    assert out["fake_a"].shape == block.shape + (3,) and out["fake_b"].shape == block.shape
    model = registry.get_model("fake_vector")
    i, j = 3, 6
    point = {"mass_MeV": spec.axes[0].values[8 + i], "coupling": spec.axes[1].values[8 + j],
             "interference": "standard"}
    for k, q in enumerate(["a", "b", "c"]):  # quenching axis in spec order
        exp = registry.get_experiment("fake_a")
        expected = exp.chi2(model.signal_counts(exp, q, point))
        assert out["fake_a"][i, j, k] == pytest.approx(float(expected), rel=1e-12)


def test_asimov_data_give_zero_at_the_sm_for_every_quenching(fake, registry):
    spec = parse_spec(fake.spec_text("s.zarr", data="asimov"), registry=registry)
    out = evaluate(spec, block_at((0, 0), spec.shape, spec.chunks), registry=registry).chi2
    # smallest coupling 1e-6: signal = SM × (1 - 1e-4) at most, so chi2 ≈ 0 against Asimov SM
    assert np.all(out["fake_a"][:, 0, :] < 1e-3) and np.all(out["fake_b"][:, 0] < 1e-3)
    assert np.all(out["fake_a"][:, -1, :] > 1.0)  # and grows with the coupling


class _NoAsimovExperiment(Experiment):
    """An experiment class that does not implement ``asimov`` (the base default)."""

    name, quenching_choices, default_quenching = "toy", (), ""


class _RegistryWithoutAsimov(PhysicsRegistry):
    """The real registry, except that coherent_csi's class has no Asimov data."""

    def experiment_class(self, experiment):
        return _NoAsimovExperiment if experiment == "coherent_csi" else (
            super().experiment_class(experiment))


def test_asimov_without_physics_support_fails_before_any_work(tmp_path):
    path = Path(__file__).parents[2] / "configs" / "quickstart.toml"
    text = path.read_text().replace('data = "observed"', 'data = "asimov"')
    spec = parse_spec(text.replace("scans/quickstart.zarr", str(tmp_path / "a.zarr")))
    with pytest.raises(ConfigError, match=r"data: 'asimov' needs .*asimov\(quenching\), which "
                       r"coherent_csi does not provide.*: dresden_ii, coherent_ar"):
        prepare_store(spec, registry=_RegistryWithoutAsimov())
    assert not (tmp_path / "a.zarr").exists()


def test_the_real_experiments_provide_asimov_data():
    registry = PhysicsRegistry()
    registry.check_asimov(registry.experiment_names())  # no error: all of them
    assert all(registry.experiment_class(e).provides_asimov()
               for e in ("dresden_ii", "coherent_csi", "coherent_ar"))


def test_real_models_and_experiments_reach_the_sm_at_vanishing_coupling():
    """vector_universal through the real physics: coupling 1e-9 gives the SM χ² (g² ~ 1e-18)."""
    from nubound.physics.experiments import get_experiment
    from nubound.physics.models import get_model

    text = Path(__file__).parents[2].joinpath("configs", "quickstart.toml").read_text()
    text = text.replace('"dresden_ii", "coherent_csi", "coherent_ar"', '"coherent_csi"')
    text = text.replace('dresden_ii = ["fef", "ybe", "lindhard"]', "")
    text = text.replace("start = 1e-7", "start = 1e-9").replace("n = 64", "n = 2")
    text = text.replace("n = 48", "n = 2")
    spec = parse_spec(text)
    out = evaluate(spec, block_at((0, 0), spec.shape, spec.chunks)).chi2
    csi = get_experiment("coherent_csi")
    sm = get_model("vector_universal").signal_counts(csi, None, {"coupling": 0.0,
                                                                 "mass_MeV": 1.0})
    assert out["coherent_csi"][:, 0] == pytest.approx(float(csi.chi2(sm)), rel=1e-9)
    assert np.all(out["coherent_csi"][:, 1] > out["coherent_csi"][:, 0] + 10)  # g = 1e-2


def test_a_block_report_keeps_the_data_loading_apart_from_the_physics(fake, tmp_path):
    # the first block of a process reads the experiments' data: timed as load_s, not as
    # physics (the scaling figures' "outside physics" share counts it, docs/design.md)
    import time
    from functools import cache

    from nubound.scanner.run import compute_block
    from nubound.storage.store import unconverged_name

    class SlowLoading(fake.FakeRegistry):
        @cache  # noqa: B019 - one registry per test: built once, as physics caches them
        def get_experiment(self, name):
            time.sleep(0.3)
            return super().get_experiment(name)

    reg = SlowLoading()
    spec = parse_spec(fake.spec_text(str(tmp_path / "s.zarr")), registry=reg)
    url, store_id = prepare_store(spec, registry=reg)
    blocks = [block_at(index, spec.shape, spec.chunks) for index in [(0, 0), (0, 1)]]
    first, second = (compute_block(spec, b, url, store_id, reg) for b in blocks)
    assert first.load_s >= 0.6 and second.load_s < 0.05  # two experiments, once each
    assert first.evaluate_s < 0.3
    # a count of 0 is the arrays' fill value: its chunk is not written, the others are
    counts = [evaluate(spec, b, registry=reg).unconverged for b in blocks]
    for exp in spec.experiments:
        for block, count in zip(blocks, counts, strict=True):
            chunk = Path(url, unconverged_name(exp), "c", *map(str, block.index))
            assert chunk.exists() == (count[exp] > 0), (exp, block.index, count[exp])
    assert {c[e] > 0 for c in counts for e in spec.experiments} == {True, False}
