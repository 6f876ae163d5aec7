"""Shared test fixtures. Data come from NUBOUND_DATA_DIR (.ci/run points it at ../shared/data)."""

import os
import sys
from pathlib import Path

import pytest

# helper modules of the tests (reference implementations) import by name, e.g. bsm_reference
sys.path.insert(0, str(Path(__file__).resolve().parent / "physics"))

_DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if "NUBOUND_DATA_DIR" not in os.environ and _DEFAULT_DATA.is_dir():
    os.environ["NUBOUND_DATA_DIR"] = str(_DEFAULT_DATA)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder holding the registered data files."""
    return Path(os.environ["NUBOUND_DATA_DIR"])
