"""Fixtures of the scanner tests: the fake physics registry and a real LocalCluster."""

import importlib
import sys
from pathlib import Path

import pytest

_FAKE = Path(__file__).with_name("fake_physics.py")


def load_fake_physics():
    """Import fake_physics.py as a top-level module; spawned workers inherit sys.path."""
    if str(_FAKE.parent) not in sys.path:
        sys.path.insert(0, str(_FAKE.parent))
    return importlib.import_module("fake_physics")


@pytest.fixture(scope="session")
def fake():
    """The fake_physics module."""
    return load_fake_physics()


@pytest.fixture(scope="session")
def registry(fake):
    """A registry of the fake model and experiments."""
    return fake.FakeRegistry()


@pytest.fixture(scope="module")
def client():
    """A real LocalCluster of 2 single-threaded worker processes and its client."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=":0", processes=True) as cluster, \
            Client(cluster) as c:
        yield c
