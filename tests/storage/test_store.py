"""The scan store: template layout, attributes, region writes with the done cell last, status."""

import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import zarr

from nubound.scanner.plan import block_at
from nubound.scanner.run import prepare_store
from nubound.scanner.spec import parse_spec
from nubound.storage import store as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scanner"))
import fake_physics  # noqa: E402


@pytest.fixture
def made(tmp_path):
    registry = fake_physics.FakeRegistry()
    url = str(tmp_path / "s.zarr")
    spec = parse_spec(fake_physics.spec_text(url, n_mass=10, n_coupling=16, chunks=(4, 8)),
                      registry=registry)
    url, store_id = prepare_store(spec, registry=registry)
    return spec, url, store_id, registry


def test_template_layout_chunks_and_fill(made):
    spec, url, _, _ = made
    g = zarr.open_group(url, mode="r")
    assert g.metadata.zarr_format == 3
    a, b = g["chi2_fake_a"], g["chi2_fake_b"]
    assert a.shape == (10, 16, 3) and a.chunks == (4, 8, 3) and a.dtype == np.float64
    assert b.shape == (10, 16) and b.chunks == (4, 8)
    assert np.isnan(a[...]).all() and np.isnan(b[...]).all()
    done = g["done"]
    assert done.shape == (3, 2) and done.chunks == (1, 1) and done.dtype == np.uint8
    assert (done[...] == 0).all()
    np.testing.assert_array_equal(g["mass_MeV"][...], spec.axes[0].values)
    assert dict(g["mass_MeV"].attrs)["units"] == "MeV"
    assert dict(g["coupling"].attrs)["units"] == "1"
    q = g["quenching_fake_a"]
    assert q.dtype.kind == "i" and list(q[...]) == [0, 1, 2]
    assert dict(q.attrs)["choices"] == ["a", "b", "c"]


def test_attributes_record_spec_version_hashes_kind_time(made):
    spec, url, store_id, registry = made
    attrs = st.read_attrs(url)
    assert parse_spec(attrs["spec_toml"], registry=registry) == spec
    assert attrs["nubound_version"] == version("nubound")
    assert attrs["data_hashes"] == registry.data_hashes(spec.experiments)
    assert attrs["data_kind"] == "observed"
    assert attrs["store_id"] == store_id
    created = datetime.fromisoformat(attrs["created_utc"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 600


def test_an_asimov_scan_records_its_data_kind(tmp_path):
    registry = fake_physics.FakeRegistry()
    url = str(tmp_path / "a.zarr")
    spec = parse_spec(fake_physics.spec_text(url, data="asimov"), registry=registry)
    url, _ = prepare_store(spec, registry=registry)
    attrs = st.read_attrs(url)
    assert attrs["data_kind"] == "asimov"
    assert 'data = "asimov"' in attrs["spec_toml"]


def test_open_store_labels_quenching_and_warns_nothing(made):
    _, url, _, _ = made
    ds = st.open_store(url)  # filterwarnings=error: no Zarr 3 / consolidation warning
    assert list(ds["quenching_fake_a"].values) == ["a", "b", "c"]
    assert ds["chi2_fake_a"].dims == ("mass_MeV", "coupling", "quenching_fake_a")
    assert ds["chi2_fake_a"].sel(quenching_fake_a="b").shape == (10, 16)
    assert ds["done"].dtype == np.uint8 and int(ds["done"].sum()) == 0
    assert ds["mass_MeV"].attrs["units"] == "MeV"


def test_write_block_touches_only_its_region_and_marks_done(made):
    spec, url, store_id, _ = made
    block = block_at((2, 1), spec.shape, spec.chunks)  # the ragged last row: 8..10
    assert block.shape == (2, 8)
    results = {"fake_a": np.full((2, 8, 3), 1.5), "fake_b": np.full((2, 8), 2.5)}
    st.write_block(url, store_id, block, results)
    g = zarr.open_group(url, mode="r")
    a, b = g["chi2_fake_a"][...], g["chi2_fake_b"][...]
    assert (a[8:, 8:] == 1.5).all() and (b[8:, 8:] == 2.5).all()
    mask = np.ones((10, 16), bool)
    mask[8:, 8:] = False
    assert np.isnan(a[mask]).all() and np.isnan(b[mask]).all()
    np.testing.assert_array_equal(st.done_map(url), [[0, 0], [0, 0], [0, 1]])
    assert st.block_is_done(url, store_id, block)


def test_failed_write_leaves_the_block_not_done(made):
    spec, url, store_id, _ = made
    block = block_at((0, 0), spec.shape, spec.chunks)
    bad = {"fake_a": np.zeros((4, 8, 3)), "fake_b": np.zeros((3, 8))}  # wrong shape
    with pytest.raises(ValueError):
        st.write_block(url, store_id, block, bad)
    assert not st.done_map(url).any()


def test_store_is_created_once(made):
    spec, url, _, _ = made
    with pytest.raises(Exception, match="exist|contains"):
        st.create_store(spec, url, spec_toml="", data_hashes={})


def test_status_counts_blocks_and_size(made):
    spec, url, store_id, _ = made
    st.write_block(url, store_id, block_at((0, 0), spec.shape, spec.chunks),
                   {"fake_a": np.ones((4, 8, 3)), "fake_b": np.ones((4, 8))})
    status = st.store_status(url)
    assert (status.blocks_done, status.blocks_total) == (1, 6)
    files = [p for p in Path(url).rglob("*") if p.is_file()]
    assert status.size_bytes == sum(p.stat().st_size for p in files) > 0


def test_open_missing_store_is_a_clear_error(tmp_path):
    from nubound.physics.errors import ConfigError

    with pytest.raises(ConfigError, match="no scan store at"):
        st.open_store(str(tmp_path / "nothing.zarr"))
