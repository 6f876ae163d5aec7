"""Scan spec validation: every error names its key path and the allowed values."""

import tomllib
from pathlib import Path

import pytest

from nubound.physics.errors import ConfigError
from nubound.scanner.spec import default_chunks, load_spec, parse_spec, validate_spec
from nubound.scanner.spec_toml import spec_to_toml

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.toml"))


@pytest.fixture
def raw(fake):
    return tomllib.loads(fake.spec_text("s.zarr"))


def test_valid_spec_has_grid_and_chunks(raw, registry):
    spec = validate_spec(raw, registry=registry)
    assert spec.shape == (12, 16)
    assert spec.chunks == (4, 8)
    assert spec.axes[0].values[0] == 0.01 and spec.axes[0].values[-1] == 1e4
    # log spacing: constant ratio between neighbours
    v = spec.axes[1].values
    assert v[1] / v[0] == pytest.approx(v[-1] / v[-2], rel=1e-12)
    assert spec.quenching_for("fake_a") == ("a", "b", "c")
    assert spec.quenching_for("fake_b") == ()
    assert spec.model.fixed == {"interference": "standard"}


def test_canonical_toml_round_trips_exactly(raw, registry):
    raw["axes"][1] = {"name": "coupling", "unit": "1", "values": [1e-5, 0.1 + 0.2, 3e-3]}
    spec = validate_spec(raw, registry=registry)
    assert parse_spec(spec_to_toml(spec), registry=registry) == spec


def _set(raw, path, value):
    node = raw
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()
CASES = [
    # (what is changed, new value, key path in the message, allowed values in the message)
    (("colour",), "red", "colour", "allowed keys: spec_version"),
    (("axes", 1, "colour"), 1, "axes[1].colour", "allowed keys: name, unit"),
    (("axes", 1, "unit"), "MeV", "axes[1].unit", "'1'"),
    (("axes", 0, "unit"), "GeV", "axes[0].unit", "'MeV'"),
    (("model", "name"), "axion", "model.name", "fake_vector"),
    (("experiments",), ["fake_a", "texono"], "experiments[1]", "fake_a, fake_b"),
    (("quenching", "fake_a"), ["a", "zz"], "quenching.fake_a[1]", "a, b, c"),
    (("axes", 1, "stop"), 1e-6, "axes[1].stop", "empty range"),
    (("axes", 1, "stop"), float("inf"), "axes[1].stop", "finite number"),
    (("axes", 1, "start"), float("nan"), "axes[1].start", "finite number"),
    (("axes", 1, "n"), 0, "axes[1].n", "integer >= 1"),
    (("axes", 0, "scale"), "lin", None, None),  # valid: lin from 0.01
    (("axes", 0, "start"), -1.0, "axes[0].start", "> 0"),
    (("axes", 0, "scale"), "cubic", "axes[0].scale", "lin, log"),
    (("axes", 0, "name"), "mass_GeV", "axes[0].name", "coupling, mass_MeV"),
    (("model", "parameters", "interference"), "sideways", "model.parameters.interference",
     "standard, flipped"),
    (("model", "parameters", "mass_MeV"), 0.0, "model.parameters.mass_MeV", "> 0"),
    (("data",), "toys", "data", "observed, asimov"),
    (("spec_version",), 2, "spec_version", "allowed: 1"),
    (("chunks", "coupling"), 0, "chunks.coupling", "integer >= 1"),
    (("chunks", "mass"), 3, "chunks.mass", "allowed keys: mass_MeV, coupling"),
    (("confidence_level",), 90, "confidence_level", "0 < value < 1"),
    (("store",), _DELETE, "store", "path or fsspec URL"),
]


@pytest.mark.parametrize(("path", "value", "key", "allowed"), CASES)
def test_errors_name_key_and_allowed_values(raw, registry, path, value, key, allowed):
    _set(raw, path, value)
    if key is None:
        validate_spec(raw, registry=registry)
        return
    with pytest.raises(ConfigError) as info:
        validate_spec(raw, registry=registry)
    message = str(info.value)
    assert message.startswith(f"{key}:"), message
    assert allowed in message, message


def test_mass_axis_with_zero_is_rejected(raw, registry):
    raw["axes"][0] = {"name": "mass_MeV", "unit": "MeV", "values": [1.0, 0.0]}
    with pytest.raises(ConfigError, match=r"axes\[0\]\.values\[1\]: expected a number > 0"):
        validate_spec(raw, registry=registry)


def test_not_toml_is_a_config_error(registry):
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_spec("model = [", registry=registry)


def test_default_chunks_fill_last_axis_first():
    assert default_chunks((100, 1000), points=4096) == (4, 1000)
    assert default_chunks((3, 5), points=4096) == (3, 5)
    assert default_chunks((7,), points=4) == (4,)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_configs_validate_against_the_real_catalogue(path):
    spec = load_spec(path)
    assert spec.store and all(a.size >= 2 for a in spec.axes)
    assert parse_spec(spec_to_toml(spec)) == spec


def test_every_paper_config_refines_to_a_relative_precision_of_1e_3():
    papers = [p for p in CONFIGS if p.stem.startswith("paper_")]
    assert len(papers) >= 10
    for path in papers:
        spec = load_spec(path)
        assert spec.refine is not None, path.stem
        for name in spec.refine.axes:
            axis = spec.axes[spec.axis_names.index(name)]
            v, levels = axis.values, spec.refine.levels
            # relative on a log axis (the finest ratio less 1), over the range on a linear one
            finest = ((v[1] / v[0]) ** (1 / 2**levels) - 1 if axis.scale == "log"
                      else (v[1] - v[0]) / (v[-1] - v[0]) / 2**levels)
            assert finest <= 1.05e-3, (path.stem, name, finest)


def test_quickstart_is_the_issue_scan():
    spec = load_spec(Path(__file__).parents[2] / "configs" / "quickstart.toml")
    assert spec.model.name == "vector_universal"
    mass = spec.axes[spec.axis_names.index("mass_MeV")]
    assert mass.scale == "log" and mass.size >= 40
    assert (mass.values[0], mass.values[-1]) == (0.01, 1e4)
    assert spec.experiments == ("dresden_ii", "coherent_csi", "coherent_ar")
    assert spec.quenching_for("dresden_ii") == ("fef", "ybe", "lindhard")
