"""Shared plumbing of the benchmarks: data folder, test helpers on the path, rate records.

Rates are evaluations (or grid points) per second from pytest-benchmark's fastest round; a
module's ``rates`` fixture collects them so that its last benchmark can print the ratios of
the fast path to the references measured in the same process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "physics"))  # the tests' reference implementations
sys.path.insert(0, str(ROOT / "tests" / "scanner"))  # contour_check.py
sys.path.insert(0, str(ROOT / "benchmarks"))  # numpy_reference.py
_DATA = ROOT.parent / "shared" / "data"
if "NUBOUND_DATA_DIR" not in os.environ and _DATA.is_dir():  # as tests/conftest.py
    os.environ["NUBOUND_DATA_DIR"] = str(_DATA)


class Rates(dict):
    """Rates of one benchmark module, keyed by path name."""

    def record(self, benchmark, key: str, n: int) -> float:
        """Store n / (fastest round) as ``key`` and in the benchmark's ``extra_info``."""
        rate = n / benchmark.stats.stats.min
        benchmark.extra_info["evaluations_per_second"] = rate
        self[key] = rate
        return rate

    def time(self, benchmark, key: str, n: int, fn, *args, rounds: int = 2, warmup: int = 0):
        """Time ``fn(*args)`` (fastest of ``rounds``), record it as ``key`` with n evaluations
        per call; returns what ``fn`` returned."""
        result = benchmark.pedantic(fn, args=args, rounds=rounds, iterations=1,
                                    warmup_rounds=warmup)
        self.record(benchmark, key, n)
        return result

    def above_exact(self, benchmark, label: str, chi2, exact, floor: float = -1e-6) -> float:
        """Record and print how far a reference's χ² ends above the exact profile (max over
        its points); below ``floor`` is an error (then they did not profile the same χ²)."""
        deviation = float(max(a - b for a, b in zip(chi2, exact, strict=True)))
        benchmark.extra_info["max_chi2_above_batched"] = deviation
        print(f"\n{label}: χ² at most {deviation:.2g} above the batched profile")
        assert deviation > floor
        return deviation

    def report(self, benchmark, label: str, fast: str = "batched") -> None:
        """Print and store the ratio of ``fast`` to every other recorded rate."""
        parts = [f"{fast} {self[fast]:.3g}/s"]
        for key, rate in self.items():
            if key != fast:
                benchmark.extra_info[f"ratio_{fast}_over_{key}"] = self[fast] / rate
                parts.append(f"{key} {rate:.3g}/s (ratio {self[fast] / rate:.3g})")
        print(f"\n{label}: " + ", ".join(parts))


@pytest.fixture(scope="module")
def rates() -> Rates:
    """A fresh rate record per benchmark module."""
    return Rates()
