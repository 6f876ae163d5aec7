"""`nubound scan` / `nubound status` sub-commands (jobs/scan.py)."""

import argparse

import numpy as np

from nubound.jobs.scan import add_scan_commands, main
from nubound.scanner.plan import block_at
from nubound.scanner.run import prepare_store
from nubound.scanner.spec import parse_spec
from nubound.storage.store import write_block


def test_commands_and_options_are_registered():
    parser = argparse.ArgumentParser()
    add_scan_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["scan", "c.toml", "--store", "x.zarr", "--scheduler",
                              "tcp://1.2.3.4:8786", "--workers", "3"])
    assert (args.config, args.store, args.scheduler, args.workers) == (
        "c.toml", "x.zarr", "tcp://1.2.3.4:8786", 3)
    assert parser.parse_args(["scan", "c.toml"]).cluster is None  # LocalCluster on 127.0.0.1
    assert parser.parse_args(["scan", "c.toml", "--cluster", "slurm"]).cluster == "slurm"
    assert parser.parse_args(["status", "x.zarr"]).store == "x.zarr"


def test_status_prints_blocks_spec_and_size(fake, registry, tmp_path, capsys):
    url = str(tmp_path / "s.zarr")
    spec = parse_spec(fake.spec_text(url, n_mass=10, n_coupling=16, chunks=(4, 8)),
                      registry=registry)
    url, store_id = prepare_store(spec, registry=registry)
    for index in [(0, 0), (1, 1)]:
        block = block_at(index, spec.shape, spec.chunks)
        write_block(url, store_id, block, {"fake_a": np.ones(block.shape + (3,)),
                                           "fake_b": np.ones(block.shape)})
    assert main(["status", url]) == 0
    out = capsys.readouterr().out
    assert "blocks done: 2/6 (33.3%)" in out
    assert "model:       fake_vector (interference=standard)" in out
    assert "axis:        mass_MeV [MeV] log 0.01 .. 10000, 10 points, 4 per block" in out
    assert "experiment:  fake_a (quenching a, b, c)" in out
    assert "size:" in out and url in out


def test_scan_with_a_bad_spec_fails_before_any_cluster(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('spec_version = 1\n[model]\nname = "axion"\n')
    assert main(["scan", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "model.name" in err and "vector_universal" in err


def test_status_of_a_missing_store(tmp_path, capsys):
    assert main(["status", str(tmp_path / "none.zarr")]) == 2
    assert "no scan store at" in capsys.readouterr().err


_TINY_REAL_SPEC = """
spec_version = 1
experiments = ["coherent_csi"]
store = "{store}"
data = "observed"
[model]
name = "magnetic_moment"
[[axes]]
name = "mu_e"
unit = "mu_B"
values = [0.0, 1e-9, 3e-9, 1e-8]
[chunks]
mu_e = 2
"""


def test_scan_with_a_cluster_profile_equals_the_default_local_scan(tmp_path, capsys):
    import xarray as xr

    profile = tmp_path / "two_workers.toml"
    profile.write_text(
        'profile_version = 1\nkind = "local"\nstore_root = "."\n'
        '[network]\ndashboard_address = "127.0.0.1:0"\n'
        "[workers]\nn_workers = 1\nthreads_per_worker = 1\n"
    )
    stores = {}
    for name, extra in [("default", ["--dashboard-address", "127.0.0.1:0", "--workers", "1"]),
                        ("profile", ["--cluster", str(profile)])]:
        store = tmp_path / f"{name}.zarr"
        config = tmp_path / f"{name}.toml"
        config.write_text(_TINY_REAL_SPEC.format(store=store))
        assert main(["scan", str(config), *extra]) == 0
        assert f"{store}: 2/2 blocks done" in capsys.readouterr().out
        with xr.open_zarr(store, consolidated=False) as ds:
            stores[name] = ds["chi2_coherent_csi"].values
    np.testing.assert_array_equal(stores["profile"], stores["default"])
    # μ_e = 1e-8 μ_B adds far more events than CsI saw: strongly disfavoured against μ_e = 0
    assert stores["default"][-1] > stores["default"][0] + 10.0
