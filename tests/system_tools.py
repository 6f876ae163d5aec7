"""Tests that need a system tool (SLURM, Chromium, openssl): not run without it, never in CI.

Where ``NUBOUND_REQUIRE_SYSTEM_TESTS=1`` (``.ci/run`` sets it after installing the tools), a
missing tool fails the test instead of skipping it, so CI cannot turn green by not running them.
"""

from __future__ import annotations

import os

import pytest


def not_run(message: str) -> None:
    """Skip with ``message``, or fail with it where the system tests are required."""
    if os.environ.get("NUBOUND_REQUIRE_SYSTEM_TESTS") == "1":
        pytest.fail(f"{message} (NUBOUND_REQUIRE_SYSTEM_TESTS=1: required here)")
    pytest.skip(message)
