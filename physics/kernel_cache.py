"""The one decorator of nubound's compiled kernels, and a numba cache that cannot go stale.

Every kernel is ``@kernel(...)``: ``numba.njit`` with ``cache=True`` (machine code kept on
disk, see ``physics/compiled.py``) and ``nogil=True`` (threaded Dask workers run blocks in
parallel; the kernels keep no shared mutable state).

numba keys a cached function by the content of the file that defines it (``numba.core.
caching``): a kernel whose helper lives in another file (``statistics/compiled_linalg.py``)
would keep loading the old machine code of that helper after an edit. Here the freshness
stamp of every kernel is instead the sha256 of *all* kernel sources (every module of
``nubound.physics`` that uses this decorator), so an edit of any of them recompiles all
kernels on their next call (docs/design.md, Compiled kernels). The cache stays where numba
puts it (``__pycache__`` beside the source, or ``NUMBA_CACHE_DIR``); setting numba's own
``NUMBA_CACHE_LOCATOR_CLASSES`` would bypass this.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from numba import njit
from numba.core import caching

PHYSICS_DIR = Path(__file__).resolve().parent
_MARKER = b"nubound.physics.kernel_cache"  # an import of this module marks a kernel source


@cache
def kernel_sources() -> tuple[Path, ...]:
    """The modules of ``nubound.physics`` that define kernels (they import this module)."""
    return tuple(sorted(p for p in PHYSICS_DIR.rglob("*.py")
                        if p != Path(__file__).resolve() and _MARKER in p.read_bytes()))


@cache
def sources_stamp() -> str:
    """sha256 over the paths and contents of this module and every kernel source."""
    digest = hashlib.sha256()
    for path in (Path(__file__).resolve(),) + kernel_sources():
        digest.update(str(path.relative_to(PHYSICS_DIR)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class _AllKernelSourcesLocator(caching._CacheLocator):
    """numba's own locator for a kernel (same cache folder), with ``sources_stamp`` as the
    freshness stamp: an index written from other kernel sources is ignored and rewritten."""

    def __init__(self, inner: caching._CacheLocator) -> None:
        self._inner = inner

    def ensure_cache_path(self) -> None:
        self._inner.ensure_cache_path()

    def get_cache_path(self) -> str:
        return self._inner.get_cache_path()

    def get_source_stamp(self) -> tuple:
        return (self._inner.get_source_stamp(), sources_stamp())

    def get_disambiguator(self) -> str:
        return self._inner.get_disambiguator()

    @classmethod
    def from_function(cls, py_func, py_file):
        if Path(py_file).resolve() not in kernel_sources():
            return None
        for other in _NUMBA_LOCATORS:
            inner = other.from_function(py_func, py_file)
            if inner is not None:
                return cls(inner)
        return None


# numba's locators, tried in order for each cached function (``_CacheImpl`` before 0.62)
_LOCATORS = getattr(caching, "CacheImpl", getattr(caching, "_CacheImpl", None))._locator_classes
_NUMBA_LOCATORS = tuple(c for c in _LOCATORS if c is not _AllKernelSourcesLocator)
if _AllKernelSourcesLocator not in _LOCATORS:
    _LOCATORS.insert(0, _AllKernelSourcesLocator)


def kernel(**options):
    """``numba.njit(cache=True, nogil=True, **options)``, cached under the stamp of all
    kernel sources (module docstring); use it in a module of ``nubound.physics`` only."""
    return njit(cache=True, nogil=True, **options)
