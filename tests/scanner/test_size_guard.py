"""Size guards: too large a scan is refused at validation, fast, naming the key that allows it."""

import time
import tomllib
import tracemalloc
from pathlib import Path

import pytest

from nubound.physics.errors import ConfigError
from nubound.scanner.size_guard import DEFAULT_SIZE_LIMITS, check_size, estimate_size
from nubound.scanner.spec import parse_spec, validate_spec
from nubound.scanner.spec_toml import spec_to_toml

QUICKSTART = (Path(__file__).parents[2] / "configs" / "quickstart.toml").read_text()


def quickstart_with(n_mass: int, n_coupling: int) -> str:
    """configs/quickstart.toml with other axis lengths."""
    text = QUICKSTART.replace("n = 48\n", f"n = {n_mass}\n").replace("n = 64\n",
                                                                     f"n = {n_coupling}\n")
    assert text.count(f"n = {n_mass}\n") == 1 and text.count(f"n = {n_coupling}\n") == 1
    return text


def test_estimate_counts_points_blocks_and_bytes():
    size = estimate_size((10, 100), (3, 100), columns=2)
    assert size.points == 1000
    assert size.blocks == 4  # ceil(10 / 3) x 1
    # 300 points x 2 columns x 8 bytes = 4800 -> two 4 KiB blocks, plus one done file
    assert size.store_bytes == 4 * (8192 + 4096)


def test_spec_of_1e12_points_is_refused_fast_and_small():
    from nubound.scanner.catalogue import default_registry

    registry = default_registry()
    parse_spec(quickstart_with(8, 9), registry=registry)  # warm imports
    text = quickstart_with(10**6, 10**6 + 1)
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        parse_spec(text, registry=registry)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("size_limits.max_points: the scan would have 1e+12 points")
    assert "mass_MeV 1000000 × coupling 1000001" in message
    assert "set [size_limits] max_points in the spec" in message
    assert seconds < 1.0, seconds
    assert peak < 200e6, peak


def test_one_axis_of_1e12_points_is_refused_before_its_values_exist(registry, fake):
    raw = tomllib.loads(fake.spec_text("s.zarr"))
    raw["axes"][1]["n"] = 10**12
    tracemalloc.start()
    with pytest.raises(ConfigError, match="size_limits.max_points"):
        validate_spec(raw, registry=registry)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 10e6


@pytest.mark.parametrize("key, chunks, message", [
    ("max_blocks", {"mass_MeV": 1, "coupling": 1}, "in 1.2e+05 blocks"),
    ("max_store_GB", None, "GB on disk"),
])
def test_blocks_and_store_size_are_limited_too(key, chunks, message, registry, fake):
    raw = tomllib.loads(fake.spec_text("s.zarr"))
    raw["axes"][0]["n"], raw["axes"][1]["n"] = 300, 400  # 1.2e5 points
    if chunks:
        raw["chunks"] = chunks
    else:
        raw["size_limits"] = {"max_store_GB": 1e-4}
    with pytest.raises(ConfigError) as err:
        validate_spec(raw, registry=registry)
    assert str(err.value).startswith(f"size_limits.{key}: the scan would have 1.2e+05 points")
    assert message in str(err.value)
    assert f"set [size_limits] {key} in the spec" in str(err.value)


def test_raising_the_limit_accepts_the_spec_and_keeps_the_same_scan(registry, fake):
    raw = tomllib.loads(fake.spec_text("s.zarr"))
    raw["chunks"] = {"mass_MeV": 1, "coupling": 1}
    raw["axes"][0]["n"], raw["axes"][1]["n"] = 300, 400
    raw["size_limits"] = {"max_blocks": 2e5}
    spec = validate_spec(raw, registry=registry)
    assert spec.size_limits == (("max_blocks", 2e5),)
    assert parse_spec(spec_to_toml(spec), registry=registry) == spec
    del raw["size_limits"]
    raw["axes"][0]["n"] = 100  # back under the default block limit
    smaller = validate_spec(raw, registry=registry)
    assert not smaller.same_scan(spec)
    raw["axes"][0]["n"] = 300
    raw["size_limits"] = {"max_blocks": 3e5}
    assert validate_spec(raw, registry=registry).same_scan(spec)


@pytest.mark.parametrize("table, message", [
    ({"max_points": 0}, "size_limits.max_points: expected a number > 0, got 0"),
    ({"max_cores": 4}, "size_limits.max_cores: unknown key; allowed keys: max_points"),
])
def test_bad_size_limits_are_named(table, message, registry, fake):
    raw = tomllib.loads(fake.spec_text("s.zarr"))
    raw["size_limits"] = table
    with pytest.raises(ConfigError, match=message):
        validate_spec(raw, registry=registry)


def test_defaults_let_every_packaged_config_through():
    from nubound.scanner.spec import load_spec

    for path in sorted((Path(__file__).parents[2] / "configs").glob("*.toml")):
        spec = load_spec(path)
        check_size(estimate_size(spec.shape, spec.chunks), DEFAULT_SIZE_LIMITS)
