"""The data registry: hashes, missing and corrupted files, and `nubound data verify`."""

import shutil

import pytest

from nubound.jobs.cli import main
from nubound.physics.data import REGISTRY, all_keys, data_path, sha256_of, verify_all
from nubound.physics.errors import DataFileError


def test_every_registered_file_matches_its_hash(data_dir):
    statuses = verify_all()
    # single entries (the XENONnT manifest among them) plus the 6928 files it lists
    assert len(statuses) == len(all_keys()) == len(REGISTRY) + 6928 and len(REGISTRY) >= 40
    assert [s.key for s in statuses if not s.ok] == []


def test_every_registry_entry_has_a_public_url_and_licence():
    for entry in REGISTRY.values():
        assert entry.url.startswith("https://"), entry.key
        assert entry.name in entry.url
        assert entry.licence
        assert len(entry.sha256) == 64


@pytest.fixture
def copied_data(tmp_path, data_dir, monkeypatch):
    key = "dresden-ii/data_release.txt"
    (tmp_path / "dresden-ii").mkdir()
    shutil.copy(data_dir / key, tmp_path / key)
    monkeypatch.setenv("NUBOUND_DATA_DIR", str(tmp_path))
    return tmp_path, key


def test_corrupted_file_names_file_expected_hash_and_source(copied_data):
    folder, key = copied_data
    with open(folder / key, "a") as handle:
        handle.write("0")
    with pytest.raises(DataFileError) as err:
        data_path(key)
    msg = str(err.value)
    assert key in msg and REGISTRY[key].sha256 in msg and REGISTRY[key].url in msg
    assert "corrupted" in msg and sha256_of(folder / key) in msg


def test_missing_file_says_how_to_get_it(copied_data):
    folder, key = copied_data
    other = "dresden-ii/QF_Fef_YBe.txt"
    with pytest.raises(DataFileError, match="missing") as err:
        data_path(other)
    assert REGISTRY[other].url in str(err.value) and "NUBOUND_DATA_DIR" in str(err.value)
    assert data_path(key) == folder / key  # the intact copy is accepted


def test_unknown_key_lists_registered_files():
    with pytest.raises(DataFileError, match="dresden-ii/data_release.txt"):
        data_path("dresden-ii/nope.txt")


def test_cli_verify_fails_on_a_corrupted_copy(copied_data, capsys):
    folder, key = copied_data
    assert main(["data", "verify"]) == 1  # every other file is missing in the copy
    out = capsys.readouterr().out
    assert f"{key}" in out and "OK" in out and "FAIL" in out
    (folder / key).write_text("garbage")
    main(["data", "verify"])
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(key))
    assert "FAIL" in line and "corrupted" in line


def test_cli_verify_passes_on_the_real_folder(capsys):
    assert main(["data", "verify"]) == 0
    assert "FAIL" not in capsys.readouterr().out
