"""Damaged stores: a truncated chunk, a flipped bit, a deleted chunk and a damaged ``done`` cell
are found by ``verify_store`` (block index and file) and a rerun of the scan recomputes exactly
those blocks into a store equal byte for byte to an undamaged one."""

import io
import shutil
from pathlib import Path

import numpy as np
import pytest

from nubound.scanner.run import run_scan
from nubound.scanner.spec import load_spec, parse_spec
from nubound.storage.store import done_map
from nubound.storage.verify import StoreDamagedError, damage_reported, verify_store


def _chunk_files(url):
    """Bytes of every chunk file (the χ² and done arrays), keyed by relative path."""
    root = Path(url)
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.glob("*/c/**/*")) if p.is_file()}


@pytest.fixture(scope="module")
def clean(client, fake, registry, tmp_path_factory):
    """A complete undamaged scan (chunks 4 x 8: 3 x 2 blocks) and its chunk files."""
    url = str(tmp_path_factory.mktemp("clean") / "clean.zarr")
    spec = parse_spec(fake.spec_text(url), registry=registry)
    run_scan(spec, client, registry=registry, progress=None)
    assert done_map(url).all()
    return spec, url, _chunk_files(url)


@pytest.fixture
def copy(clean, tmp_path):
    spec, url, _ = clean
    target = tmp_path / "damaged.zarr"
    shutil.copytree(url, target)
    return str(target)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_bit(path, byte=None, bit=3):
    data = bytearray(path.read_bytes())
    k = len(data) // 2 if byte is None else byte
    data[k] ^= 1 << bit
    path.write_bytes(bytes(data))


DAMAGES = [
    # (file, damage, block, reason)
    ("chi2_fake_b/c/1/0", _truncate, (1, 0), "checksum mismatch"),
    ("chi2_fake_a/c/2/1/0", _flip_bit, (2, 1), "checksum mismatch"),
    ("chi2_fake_a/c/0/0/0", lambda p: _flip_bit(p, byte=-1, bit=0), (0, 0), "checksum mismatch"),
    ("chi2_fake_b/c/0/1", Path.unlink, (0, 1), "missing although its block is marked done"),
    ("done/c/2/0", _flip_bit, (2, 0), "checksum mismatch"),
]


@pytest.mark.parametrize("name, damage, block, reason", DAMAGES)
def test_damage_is_found_and_repaired_bit_for_bit(clean, copy, client, registry, name, damage,
                                                  block, reason):
    spec, _, reference = clean
    damage(Path(copy, name))
    bad = verify_store(copy)
    assert [(b.block, b.file, b.reason) for b in bad] == [(block, f"{copy}/{name}", reason)]
    assert bad[0].array == name.split("/")[0]

    stream = io.StringIO()
    result = run_scan(load_spec(copy, registry=registry), client, registry=registry,
                      progress=stream)
    assert f"has 1 damaged block(s): {block} (first: {copy}/{name}: {reason})" in \
        stream.getvalue()
    assert result.blocks_computed == 1
    assert [r.index for r in result.reports if not r.skipped] == [block]
    assert verify_store(copy) == []
    assert _chunk_files(copy) == reference


def test_one_bit_flip_anywhere_in_a_chunk_is_detected(clean, copy):
    """Every single-bit flip of one χ² chunk fails its checksum (none decodes silently)."""
    path = Path(copy, "chi2_fake_a/c/1/1/0")
    original = path.read_bytes()
    silent = []
    for byte in range(0, len(original), max(1, len(original) // 64)):
        for bit in (0, 5):
            _flip_bit(path, byte, bit)
            if verify_store(copy) == []:
                silent.append((byte, bit))
            path.write_bytes(original)
    assert silent == []


def test_reading_a_damaged_store_names_the_block_and_the_repair(clean, copy):
    import xarray as xr

    _flip_bit(Path(copy, "chi2_fake_b/c/1/1"))
    with pytest.raises(StoreDamagedError) as err, damage_reported(copy):
        xr.open_zarr(copy, consolidated=False)["chi2_fake_b"].values  # noqa: B018
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"store {copy} is damaged: 1 block(s), first block (1, 1) "
                              f"({copy}/chi2_fake_b/c/1/1: checksum mismatch)")
    assert f"repair it with `nubound scan {copy}`" in message


def test_errors_that_are_not_damage_pass_through(copy):
    with pytest.raises(ZeroDivisionError), damage_reported(copy):
        1 / 0  # noqa: B018


def test_a_store_is_its_own_spec(clean, registry):
    spec, url, _ = clean
    from_store = load_spec(url, registry=registry)
    assert from_store.same_scan(spec) and from_store.store == url


def test_verify_reads_slab_by_slab_and_chunk_by_chunk_alike(copy):
    _truncate(Path(copy, "chi2_fake_a/c/1/0/0"))
    whole = verify_store(copy)
    one_by_one = verify_store(copy, max_slab_bytes=1)
    assert whole == one_by_one and len(whole) == 1


def test_undamaged_store_verifies_clean(clean):
    _, url, _ = clean
    assert verify_store(url) == []
    assert np.asarray(done_map(url)).all()


@pytest.mark.parametrize("command", [["limits"], ["limits", "--format", "json"], ["plot"]])
def test_limits_and_plot_of_a_damaged_store_fail_in_one_line(clean, copy, command, tmp_path,
                                                             capsys):
    from nubound.jobs.cli import main

    main(["limits", copy])  # intact: works
    capsys.readouterr()
    _flip_bit(Path(copy, "chi2_fake_a/c/2/0/0"))
    argv = [command[0], copy, *command[1:]]
    if command[0] == "plot":
        argv += ["-o", str(tmp_path / "limits.png")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert err == [f"nubound: error: store {copy} is damaged: 1 block(s), first block (2, 0) "
                   f"({copy}/chi2_fake_a/c/2/0/0: checksum mismatch); repair it with "
                   f"`nubound scan {copy}` (recomputes only the damaged blocks); "
                   f"`nubound verify {copy}` lists them"]
    assert captured.out == ""


def test_verify_command_lists_bad_blocks_and_files(clean, copy, capsys):
    from nubound.jobs.cli import main

    assert main(["verify", copy]) == 0
    assert "is intact" in capsys.readouterr().err
    _truncate(Path(copy, "chi2_fake_b/c/2/1"))
    Path(copy, "chi2_fake_a/c/0/1/0").unlink()
    assert main(["verify", copy]) == 1
    captured = capsys.readouterr()
    rows = captured.out.splitlines()[1:]
    assert [r.split()[:3] for r in rows] == [["(0,", "1)", "chi2_fake_a"],
                                             ["(2,", "1)", "chi2_fake_b"]]
    assert rows[0].endswith("missing although its block is marked done: "
                            f"{copy}/chi2_fake_a/c/0/1/0")
    assert rows[1].endswith(f"checksum mismatch: {copy}/chi2_fake_b/c/2/1")
    assert "is damaged: 2 block(s), first block (0, 1)" in captured.err
    assert main(["verify", copy, "--json"]) == 1
    import json

    listed = json.loads(capsys.readouterr().out)
    assert [(d["block"], d["array"]) for d in listed] == [([0, 1], "chi2_fake_a"),
                                                          ([2, 1], "chi2_fake_b")]


def test_status_of_a_store_with_a_damaged_done_cell(clean, copy, capsys):
    from nubound.jobs.cli import main

    _truncate(Path(copy, "done/c/1/1"))
    assert main(["status", copy]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert err == [f"nubound: error: store {copy} is damaged: 1 block(s), first block (1, 1) "
                   f"({copy}/done/c/1/1: checksum mismatch); repair it with "
                   f"`nubound scan {copy}` (recomputes only the damaged blocks); "
                   f"`nubound verify {copy}` lists them"]


def test_damaged_per_block_count_is_a_damaged_block(clean, copy, client, registry):
    """``unconverged_<exp>`` (one cell per block) belongs to its block like ``done``."""
    import zarr

    spec, _, reference = clean
    zarr.open_group(copy, mode="r+")["unconverged_fake_b"][1, 0] = 7
    _flip_bit(Path(copy, "unconverged_fake_b/c/1/0"))
    bad = verify_store(copy)
    assert [(b.array, b.block, b.reason) for b in bad] == [
        ("unconverged_fake_b", (1, 0), "checksum mismatch")]
    result = run_scan(load_spec(copy, registry=registry), client, registry=registry,
                      progress=None)
    assert [r.index for r in result.reports if not r.skipped] == [(1, 0)]
    assert _chunk_files(copy) == reference
