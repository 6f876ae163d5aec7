"""Compiled kernels never run stale machine code (physics/kernel_cache.py).

In a temporary copy of ``nubound.physics``, a probe kernel calls ``compiled_linalg.dot``
(another file). A first process compiles and caches it; the helper is then edited, and a
second process calls the probe again. numba's own scheme (``njit(cache=True)``, stamped by
the probe's file alone) serves the old machine code: the control below shows that this test
can fail. With ``@kernel`` the stamp covers every kernel source, so the edit is seen.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core.caching import FunctionCache
from numba.core.registry import CPUDispatcher as Dispatcher

import nubound.physics
from nubound.physics import kernel_cache

PHYSICS = Path(nubound.physics.__file__).resolve().parent

PROBES = {
    "kernel": "from nubound.physics.kernel_cache import kernel\n\n\n@kernel()\n",
    "numba_own_cache": "from numba import njit\n\n\n@njit(cache=True, nogil=True)\n",
}
PROBE_BODY = """\
def probe(x):
    return dot(x, x)
"""
RUN = """\
import numpy as np
import nubound.physics
from nubound.physics.statistics.probe_kernel import probe
assert nubound.physics.__file__.startswith({root!r}), nubound.physics.__file__
print(probe(np.array([1.0, 2.0])))
"""


def _copy_with_probe(root: Path, scheme: str) -> None:
    """nubound/physics copied under ``root`` (no caches), plus the probe kernel."""
    shutil.copytree(PHYSICS, root / "nubound" / "physics",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    probe = root / "nubound" / "physics" / "statistics" / "probe_kernel.py"
    probe.write_text("from nubound.physics.statistics.compiled_linalg import dot\n"
                     + PROBES[scheme] + PROBE_BODY)


def _call_probe(root: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(root), NUMBA_CACHE_DIR=str(root / "numba-cache"))
    out = subprocess.run([sys.executable, "-c", RUN.format(root=str(root))], env=env,
                         cwd=root, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return float(out.stdout.split()[-1])


def _edit_helper_then_call(root: Path) -> tuple[float, float]:
    before = _call_probe(root)  # compiles the probe and dot, writes the cache
    helper = root / "nubound" / "physics" / "statistics" / "compiled_linalg.py"
    text = helper.read_text()
    assert "acc += x[b] * y[b]" in text
    helper.write_text(text.replace("acc += x[b] * y[b]", "acc += 3.0 * x[b] * y[b]"))
    return before, _call_probe(root)


def test_kernel_recompiles_after_a_helper_edit(tmp_path):
    _copy_with_probe(tmp_path, "kernel")
    before, after = _edit_helper_then_call(tmp_path)
    assert before == 5.0
    assert after == 15.0  # the edited helper, not the cached machine code


def test_control_numbas_own_cache_is_stale(tmp_path):
    """The old scheme: the same edit is not seen (the bug the kernel decorator fixes)."""
    _copy_with_probe(tmp_path, "numba_own_cache")
    before, after = _edit_helper_then_call(tmp_path)
    assert (before, after) == (5.0, 5.0)


def test_every_compiled_function_uses_the_kernel_decorator():
    """No module bypasses ``kernel`` (its stamp only covers modules that import it)."""
    offenders = [p.name for p in PHYSICS.rglob("*.py")
                 if p.name != "kernel_cache.py" and "njit" in p.read_text()]
    assert offenders == []
    names = {p.name for p in kernel_cache.kernel_sources()}
    assert {"compiled_linalg.py", "profile_kernel.py", "dresden_ii_kernel.py"} <= names
    # every kernel releases the GIL (threaded Dask workers) and is cached
    dispatchers = []
    for path in kernel_cache.kernel_sources():
        module = importlib.import_module(
            "nubound.physics." + ".".join(path.relative_to(PHYSICS).with_suffix("").parts))
        dispatchers += [f for f in vars(module).values() if isinstance(f, Dispatcher)]
    assert len(dispatchers) >= 20
    assert all(f.targetoptions.get("nogil") and isinstance(f._cache, FunctionCache)
               for f in dispatchers)


@pytest.mark.parametrize("edit", ["compiled_linalg.py", "dresden_ii_kernel.py"])
def test_stamp_covers_every_kernel_source(tmp_path, edit):
    """The stamp changes with the content of any kernel source."""
    shutil.copytree(PHYSICS, tmp_path / "physics",
                    ignore=shutil.ignore_patterns("__pycache__"))
    module = tmp_path / "physics" / "kernel_cache.py"
    script = ("import importlib.util\n"
              f"spec = importlib.util.spec_from_file_location('kc', {str(module)!r})\n"
              "m = importlib.util.module_from_spec(spec)\n"
              "spec.loader.exec_module(m)\n"
              "print(m.sources_stamp())\n")
    stamp = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True).stdout.strip()]
    path = next((tmp_path / "physics").rglob(edit))
    path.write_text(path.read_text() + "\n# edited\n")
    stamp.append(subprocess.run([sys.executable, "-c", script], capture_output=True,
                                text=True, check=True).stdout.strip())
    assert stamp[0] != stamp[1]
