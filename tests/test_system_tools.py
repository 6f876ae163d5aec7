"""A missing system tool skips its tests on a workstation and fails them where required (CI)."""

import pytest

from tests.system_tools import not_run


@pytest.mark.parametrize(("required", "outcome"), [("1", pytest.fail.Exception),
                                                   ("", pytest.skip.Exception)])
def test_not_run_skips_or_fails(monkeypatch, required, outcome):
    monkeypatch.setenv("NUBOUND_REQUIRE_SYSTEM_TESTS", required)
    with pytest.raises(outcome, match="chromium is missing"):
        not_run("BROWSER TEST NOT RUN: chromium is missing")
