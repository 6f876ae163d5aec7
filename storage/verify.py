"""Damage in a scan store: find chunks that do not decode, clear their blocks, report them.

Every χ² and ``done`` chunk carries a CRC-32C checksum (``storage/store.py``), so a truncated
file, a flipped bit or garbage fails to decode. :func:`verify_store` reads every chunk of every
array (in slabs of at most ``max_slab_bytes``; a slab that fails is re-read chunk by chunk) and
returns the bad ones with their block index and file. A χ² chunk missing although its block is
marked done is damage too (a deleted file would otherwise read as NaN, "not computed").

:func:`clear_damaged_blocks` is the repair's first half, run by ``nubound scan`` under the
store's lease: it unmarks the damaged blocks (``done`` = 0) and then deletes their bad chunk
files; the scan recomputes exactly those blocks and, values being deterministic, ends with a
store equal bit for bit to an undamaged run.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from nubound.physics.errors import DataFileError, NuboundError
from nubound.storage.store import DONE, normalize_url

MAX_SLAB_BYTES = 64 * 2**20


class StoreDamagedError(DataFileError):
    """Chunks of a scan store do not decode (or are missing although marked done)."""


@dataclass(frozen=True)
class BadChunk:
    """One damaged chunk: its array, chunk index, block index (None: not a block's), file."""

    array: str
    chunk: tuple[int, ...]
    block: tuple[int, ...] | None
    file: str
    reason: str


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    if "checksum" in text.lower():
        return "checksum mismatch"
    return f"cannot decode ({type(exc).__name__}: {text[:120]})"


def _chunk_grid(array) -> tuple[int, ...]:
    return tuple(-(-s // c) for s, c in zip(array.shape, array.chunks, strict=True))


def _slabs(array, max_bytes: int) -> Iterator[tuple[tuple[slice, ...], list[tuple[int, ...]]]]:
    """Block selections of whole chunk rows (axis 0) of at most ``max_bytes``, or of one chunk."""
    grid = _chunk_grid(array)
    if not grid:
        yield (), [()]
        return
    row_bytes = array.chunks[0] * math.prod(array.shape[1:]) * array.dtype.itemsize
    rows = max_bytes // max(row_bytes, 1)
    if rows >= 1:
        for i0 in range(0, grid[0], rows):
            i1 = min(i0 + rows, grid[0])
            chunks = list(itertools.product(range(i0, i1), *(range(g) for g in grid[1:])))
            yield (slice(i0, i1),) + (slice(None),) * (len(grid) - 1), chunks
    else:
        for chunk in itertools.product(*(range(g) for g in grid)):
            yield tuple(slice(i, i + 1) for i in chunk), [chunk]


def _bad_chunks(array, max_bytes: int) -> Iterator[tuple[tuple[int, ...], Exception]]:
    """``(chunk index, exception)`` of every chunk of ``array`` that does not decode."""
    for selection, chunks in _slabs(array, max_bytes):
        try:
            array.get_block_selection(selection) if selection else array[...]
        except Exception:  # some chunk of the slab is bad: find which, one by one
            for chunk in chunks:
                try:
                    array.get_block_selection(chunk) if chunk else array[...]
                except Exception as exc:  # noqa: BLE001 - any decode failure is damage
                    yield chunk, exc


def _block_of(name: str, array, chunk: tuple[int, ...], n_axes: int,
              block_chunks: tuple[int, ...]) -> tuple[int, ...] | None:
    """The block a chunk belongs to (data arrays chunked like the grid), else None."""
    dims = tuple(array.metadata.dimension_names or ())
    if dims == (name,):  # a coordinate
        return None
    if len(dims) == n_axes and all(d.startswith("block_") for d in dims):  # one cell per block
        return chunk
    if array.ndim >= n_axes and tuple(array.chunks[:n_axes]) == block_chunks:
        return chunk[:n_axes]
    return None


def verify_store(url: str, *, max_slab_bytes: int = MAX_SLAB_BYTES) -> list[BadChunk]:
    """Read every chunk of the store at ``url``; return the damaged ones (empty: intact).

    >>> verify_store("out/quickstart.zarr")  # doctest: +SKIP
    []
    """
    import zarr
    from fsspec.core import url_to_fs

    url = normalize_url(url)
    group = zarr.open_group(url, mode="r", zarr_format=3)
    fs, root = url_to_fs(url)
    done_arr = group[DONE]
    n_axes = done_arr.ndim
    block_chunks = tuple(int(c) for c in done_arr.attrs.get("block_chunks", ()))
    bad: list[BadChunk] = []

    def file_of(name: str, array, chunk: tuple[int, ...]) -> str:
        return f"{url}/{name}/{array.metadata.encode_chunk_key(chunk)}"

    try:
        done = np.asarray(done_arr[...], dtype=bool)
    except Exception:  # noqa: BLE001 - damaged cells are found one by one below
        done = np.zeros(done_arr.shape, dtype=bool)
        for chunk in itertools.product(*(range(g) for g in _chunk_grid(done_arr))):
            try:
                done[chunk] = bool(np.asarray(done_arr.get_block_selection(chunk)).ravel()[0])
            except Exception as exc:  # noqa: BLE001 - any decode failure is damage
                bad.append(BadChunk(DONE, chunk, chunk, file_of(DONE, done_arr, chunk),
                                    _reason(exc)))
    for name in sorted(group.array_keys()):
        if name == DONE:
            continue
        array = group[name]
        per_block = _block_of(name, array, (0,) * array.ndim, n_axes, block_chunks) is not None
        for chunk, exc in _bad_chunks(array, max_slab_bytes):
            block = _block_of(name, array, chunk, n_axes, block_chunks)
            bad.append(BadChunk(name, chunk, block, file_of(name, array, chunk), _reason(exc)))
        if per_block and name.startswith("chi2_"):
            present = {p[len(root) + len(name) + 2:] for p in fs.find(f"{root}/{name}")}
            for chunk in itertools.product(*(range(g) for g in _chunk_grid(array))):
                block = chunk[:n_axes]
                if done[block] and array.metadata.encode_chunk_key(chunk) not in present:
                    bad.append(BadChunk(name, chunk, block, file_of(name, array, chunk),
                                        "missing although its block is marked done"))
    return bad


def damaged_blocks(bad: list[BadChunk]) -> list[tuple[int, ...]]:
    """The distinct block indices of ``bad``, sorted (chunks of no block left out)."""
    return sorted({b.block for b in bad if b.block is not None})


def describe_damage(url: str, bad: list[BadChunk]) -> str:
    """One line: how many blocks, the first one with its file and reason, and the repair."""
    blocks = damaged_blocks(bad)
    first = next((b for b in bad if b.block is not None), bad[0])
    where = (f"block {first.block}" if first.block is not None
             else f"array {first.array} chunk {first.chunk}")
    if any(b.block is None for b in bad):
        fix = ("it holds damaged coordinates, which a scan cannot recompute: move it away and "
               "run the scan again")
    else:
        fix = (f"repair it with `nubound scan {url}` (recomputes only the damaged blocks); "
               f"`nubound verify {url}` lists them")
    return (f"store {url} is damaged: {len(blocks)} block(s), first {where} "
            f"({first.file}: {first.reason}); {fix}")


def clear_damaged_blocks(url: str, bad: list[BadChunk]) -> list[tuple[int, ...]]:
    """Unmark the damaged blocks (``done`` = 0), then delete their bad chunk files.

    Raises :class:`StoreDamagedError` when a damaged chunk belongs to no block (a coordinate).
    Returns the blocks cleared.
    """
    import zarr
    from fsspec.core import url_to_fs

    url = normalize_url(url)
    if any(b.block is None for b in bad):
        raise StoreDamagedError(describe_damage(url, bad))
    blocks = damaged_blocks(bad)
    done = zarr.open_group(url, mode="r+", zarr_format=3)[DONE]
    for block in blocks:  # first unmark: a crash now leaves them "to compute"
        done[block] = 0
    fs, _ = url_to_fs(url)
    for b in bad:
        if b.array != DONE and fs.exists(b.file):
            fs.rm(b.file)
    return blocks


@contextmanager
def damage_reported(url: str) -> Iterator[None]:
    """Turn a read failure inside the block into :class:`StoreDamagedError` naming the block.

    Errors that are not the store's fault (nubound's own, or when :func:`verify_store` finds
    nothing wrong) pass through unchanged.
    """
    try:
        yield
    except (NuboundError, KeyboardInterrupt):
        raise
    except Exception as exc:
        try:
            bad = verify_store(url)
        except Exception:  # noqa: BLE001 - the original error is the one to show
            raise exc from None
        if not bad:
            raise
        raise StoreDamagedError(describe_damage(normalize_url(url), bad)) from exc
