"""The installed wheel carries every module, scan spec and deployment file of the repo.

The top-level folders are mapped into the ``nubound`` package by setuptools; a file that the
mapping or the package-data globs miss would only fail for users of the wheel.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPED = ("physics", "scanner", "storage", "jobs", "configs", "deploy")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )
    (wheel,) = out.glob("nubound-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def _repo_files() -> list[Path]:
    files = []
    for folder in MAPPED:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append(path)
    return files


def test_every_mapped_file_is_in_the_wheel(wheel_names):
    missing = [
        str(p.relative_to(ROOT)) for p in _repo_files()
        if f"nubound/{p.relative_to(ROOT).as_posix()}" not in wheel_names
    ]
    assert missing == []


def test_wheel_has_no_top_level_init_and_no_tests(wheel_names):
    # nubound is a namespace package; tests and benchmarks stay out of the wheel
    assert "nubound/__init__.py" not in wheel_names
    assert not any(n.startswith(("tests/", "nubound/tests/", "benchmarks/")) for n in wheel_names)
    assert "nubound/configs/quickstart.toml" in wheel_names
