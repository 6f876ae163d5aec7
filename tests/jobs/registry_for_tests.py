"""The scanner tests' fake physics as a registry that ``--registry FILE.py:registry`` can load.

Driver processes and batch jobs import it by path; they import ``fake_physics`` from
tests/scanner, so that folder goes on PYTHONPATH too (workers inherit the environment).
``NUBOUND_TEST_BLOCK_SLEEP_S`` slows every model evaluation (for the cancel-and-resume test).
"""

import os
import sys
from pathlib import Path

_SCANNER_TESTS = str(Path(__file__).resolve().parents[1] / "scanner")
if _SCANNER_TESTS not in sys.path:
    sys.path.insert(0, _SCANNER_TESTS)
if _SCANNER_TESTS not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (_SCANNER_TESTS, os.environ.get("PYTHONPATH", "")) if p)

import fake_physics  # noqa: E402


def registry() -> fake_physics.FakeRegistry:
    """The fake registry, slowed by NUBOUND_TEST_BLOCK_SLEEP_S seconds per model call."""
    return fake_physics.FakeRegistry(
        sleep_s=float(os.environ.get("NUBOUND_TEST_BLOCK_SLEEP_S", "0")))
