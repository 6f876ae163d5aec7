"""Numba's compiled kernels, built once per installation and loaded from its on-disk cache.

A kernel compiles on its first call in a process unless numba's cache (``__pycache__`` beside
the source, or ``NUMBA_CACHE_DIR``) already holds it for the present kernel sources
(``kernel_cache``: an edit of any kernel module recompiles them all): about 30 s for all of
them on the project's machine, then under a second per process. ``compile_kernels`` makes that first
call on tiny problems, so that a scan compiles in its driver, once, instead of in every worker
at the same time.
"""

from __future__ import annotations

import time

import numpy as np

from nubound.physics.experiments.dresden_ii_background import ProfiledChi2, background_rate
from nubound.physics.statistics.profile import profile_linear_poisson


def compile_kernels() -> float:
    """Compile (or load) every numba kernel; returns the seconds it took."""
    start = time.perf_counter()
    counts, base = np.array([3.0, 0.0, 5.0]), np.array([[2.0, 1.0, 4.0]])
    profile_linear_poisson(counts, base, base[:, None], [np.inf, 0.1, 0.1],
                           scaled_directions=np.ones((1, 3)), scale=base,
                           shared_directions=base)
    energy_keV = np.linspace(0.2, 1.5, 131)
    theta = np.array([80.0, 1.3, 0.07, 10.0, 100.0, 4.0, 1.0])  # a Dresden-II-like spectrum
    fit = ProfiledChi2(energy_keV, background_rate(theta, energy_keV), np.ones(131))
    fit(np.zeros((1, 131)))
    return time.perf_counter() - start
