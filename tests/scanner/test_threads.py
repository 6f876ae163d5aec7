"""Threaded workers: the compiled kernels release the GIL and a block's χ² does not depend on
what other threads of the same process evaluate at the same time.

Batch profiles run one worker process with several threads per job; the kernels are compiled
with ``nogil=True`` so those threads run in parallel. That is only safe if nothing they share
is mutated unguarded (per-process caches of experiments, templates and profile layouts).
"""

from __future__ import annotations

import importlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numba.core.registry import CPUDispatcher

from nubound.scanner.evaluate import evaluate
from nubound.scanner.plan import plan_blocks
from nubound.scanner.spec import load_spec

KERNEL_MODULES = ("nubound.physics.statistics.profile_kernel",
                  "nubound.physics.statistics.compiled_linalg",
                  "nubound.physics.experiments.dresden_ii_kernel")
ROOT = Path(__file__).resolve().parents[2]


def test_every_compiled_kernel_releases_the_gil():
    kernels = {}
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        kernels.update({f"{name}.{attr}": obj for attr, obj in vars(module).items()
                        if isinstance(obj, CPUDispatcher) and obj.__module__ == name})
    assert len(kernels) >= 10, sorted(kernels)  # the modules' kernels were found
    held = sorted(k for k, d in kernels.items() if not d.targetoptions.get("nogil"))
    assert not held, f"kernels that hold the GIL: {held}"


def test_concurrent_blocks_equal_serial_blocks():
    spec = load_spec(ROOT / "configs" / "quickstart.toml")
    blocks = list(plan_blocks(spec.shape, spec.chunks))[::5][:6]
    with ThreadPoolExecutor(max_workers=3) as pool:  # cold caches are built concurrently
        threaded = list(pool.map(lambda b: evaluate(spec, b), blocks))
    serial = [evaluate(spec, b) for b in blocks]
    with ThreadPoolExecutor(max_workers=3) as pool:  # warm caches shared by threads
        threaded_again = list(pool.map(lambda b: evaluate(spec, b), blocks))
    for got, again, ref in zip(threaded, threaded_again, serial, strict=True):
        assert sorted(got.chi2) == sorted(ref.chi2) == sorted(spec.experiments)
        for name in ref.chi2:
            np.testing.assert_array_equal(got.chi2[name], ref.chi2[name])
            np.testing.assert_array_equal(again.chi2[name], ref.chi2[name])
        assert got.unconverged == again.unconverged == ref.unconverged
