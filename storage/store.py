"""The scan store: an xarray Dataset in Zarr (format 3), created once by the client.

Layout (docs/design.md#store-layout):

- one coordinate per model axis, float64, ``attrs = {"units", "scale"}``;
- ``chi2_<experiment>``: float64, dims = model axes (+ ``quenching_<experiment>`` last when the
  spec scans quenching choices for it), Zarr chunks = the spec's chunks (+ all choices), NaN
  where not yet computed;
- ``quenching_<experiment>``: an **integer index** coordinate 0..n-1 with the choice names in
  its ``attrs["choices"]``. Zarr 3 has no stable string dtype (a ``<U`` coordinate warns
  ``UnstableSpecificationWarning``), so names live in attrs; :func:`open_store` relabels the
  dimension with the names in memory, so ``ds.sel(quenching_dresden_ii="ybe")`` works. The
  dimension is per experiment because two experiments may have different choices;
- ``done``: uint8, dims ``block_<axis>``, one cell (and one Zarr chunk) per block; 1 = the
  block's values are all written. Workers write it after the values, never before;
- ``unconverged_<experiment>``: uint32, dims and chunks as ``done``: how many profiles of the
  block (grid points × quenching choices) stopped at an iteration cap or damping limit
  (``Experiment.profile(...).converged`` False), written with the block before its ``done``
  cell; absent in stores made before it existed;
- χ², ``done`` and ``unconverged`` chunks end with a CRC-32C checksum (Zarr v3 ``crc32c``
  codec after zstd): a truncated or bit-flipped chunk fails to decode instead of reading as a
  wrong number (``nubound verify``, :mod:`nubound.storage.verify`);
- attributes: ``spec_toml`` (canonical TOML of the spec), ``nubound_version``,
  ``data_hashes`` (sha256 of the data files read), ``data_kind`` (the spec's ``data``:
  "observed", or "asimov" for SM Asimov data, ``Experiment.asimov``), ``created_utc``,
  ``store_id`` (uuid of this store), and ``dashboard_link`` of the last run.

Only the client writes attributes (workers racing on attrs lose updates,
docs/design.md#conventions).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nubound.physics.errors import ConfigError

if TYPE_CHECKING:  # storage does not import the scanner at run time (docs/design.md#packages)
    from nubound.scanner.plan import Block
    from nubound.scanner.spec import ScanSpec

ZARR_FORMAT = 3
DONE = "done"


class StoreMismatchError(ConfigError):
    """The store at this location was created from a different spec."""


class StoreExistsError(ConfigError):
    """Something already exists where a new store was to be created."""


def chi2_name(experiment: str) -> str:
    """Data variable of one experiment's χ² grid."""
    return f"chi2_{experiment}"


def quenching_dim(experiment: str) -> str:
    """Dimension of one experiment's quenching choices."""
    return f"quenching_{experiment}"


def unconverged_name(experiment: str) -> str:
    """Per-block count of one experiment's profiles that did not converge."""
    return f"unconverged_{experiment}"


def block_dim(axis: str) -> str:
    """Dimension of the ``done`` map along one axis."""
    return f"block_{axis}"


def normalize_url(url: str) -> str:
    """Local paths become absolute (workers may run elsewhere); URLs pass through."""
    return url if "://" in url else str(Path(url).expanduser().resolve())


def _open_group(url: str, mode: str):
    import zarr

    return zarr.open_group(url, mode=mode, zarr_format=ZARR_FORMAT)


def store_exists(url: str) -> bool:
    """True if a Zarr group exists at ``url``."""
    try:
        _open_group(url, "r")
    except (FileNotFoundError, LookupError):
        return False
    return True


def checksummed_compressors() -> tuple:
    """Zarr v3 bytes-to-bytes codecs of the χ² and ``done`` arrays: zstd, then CRC-32C."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    return (ZstdCodec(level=0, checksum=False), Crc32cCodec())


def template(spec: ScanSpec):
    """The store's Dataset with lazy (dask) NaN data: written with ``compute=False``."""
    import dask.array as da
    import xarray as xr

    coords: dict[str, xr.Variable] = {
        a.name: xr.Variable((a.name,), np.asarray(a.values, dtype=np.float64),
                            attrs={"units": a.unit, "scale": a.scale})
        for a in spec.axes
    }
    data_vars = {}
    encoding = {}
    for exp in spec.experiments:
        dims, shape, chunks = list(spec.axis_names), list(spec.shape), list(spec.chunks)
        choices = spec.quenching_for(exp)
        if choices:
            qdim = quenching_dim(exp)
            coords[qdim] = xr.Variable((qdim,), np.arange(len(choices), dtype=np.int64), attrs={
                "choices": list(choices), "long_name": f"{exp} quenching choice (index)"})
            dims.append(qdim)
            shape.append(len(choices))
            chunks.append(len(choices))
        data = da.full(shape, np.nan, dtype=np.float64, chunks=tuple(chunks))
        data_vars[chi2_name(exp)] = xr.Variable(dims, data, attrs={
            "long_name": f"chi-square of {exp}, profiled over its nuisances",
            "experiment": exp})
        encoding[chi2_name(exp)] = {"chunks": tuple(chunks),
                                    "compressors": checksummed_compressors()}
    grid = tuple(-(-n // c) for n, c in zip(spec.shape, spec.chunks, strict=True))
    data_vars[DONE] = xr.Variable(
        tuple(block_dim(a) for a in spec.axis_names),
        da.zeros(grid, dtype=np.uint8, chunks=(1,) * len(grid)),
        attrs={"long_name": "1 if the block's values are completely written",
               "block_chunks": list(spec.chunks)})
    encoding[DONE] = {"chunks": (1,) * len(grid), "compressors": checksummed_compressors()}
    for exp in spec.experiments:
        data_vars[unconverged_name(exp)] = xr.Variable(
            data_vars[DONE].dims, da.zeros(grid, dtype=np.uint32, chunks=(1,) * len(grid)),
            attrs={"long_name": f"profiles of {exp} in the block that did not converge",
                   "experiment": exp, "block_chunks": list(spec.chunks)})
        encoding[unconverged_name(exp)] = {"chunks": (1,) * len(grid),
                                           "compressors": checksummed_compressors()}
    return xr.Dataset(data_vars, coords=coords), encoding


def create_store(spec: ScanSpec, url: str, *, spec_toml: str,
                 data_hashes: Mapping[str, str]) -> str:
    """Write the template and all attributes once (fails if ``url`` exists); return store_id.

    ``store_id`` is written last, so a creation cut short is recognisable. A local store is
    built under a temporary name and renamed into place (atomic): a client killed while
    creating leaves no half-made store at ``url``. When another client created ``url`` first
    (or anything else is there), the temporary folder is removed and ``StoreExistsError``
    raised.
    """
    ds, encoding = template(spec)
    store_id = uuid.uuid4().hex
    ds.attrs = {
        "title": f"nubound scan of {spec.model.name}",
        "spec_toml": spec_toml,
        "nubound_version": version("nubound"),
        "data_hashes": dict(sorted(data_hashes.items())),
        "data_kind": spec.data,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "quenching_encoding": "integer index coordinate; names in its attrs['choices']",
    }
    local = "://" not in url
    target = f"{url}.creating-{store_id}" if local else url
    exists = StoreExistsError(f"{url} exists but is not a nubound scan store; delete it or "
                              "choose another --store")
    if local and Path(url).exists():
        raise exists
    try:
        ds.to_zarr(target, mode="w-", compute=False, consolidated=False,
                   zarr_format=ZARR_FORMAT, encoding=encoding)
        update_attrs(target, store_id=store_id)
        if local:
            Path(target).rename(url)  # fails if another client created url meanwhile
    except BaseException as exc:
        if local:
            shutil.rmtree(target, ignore_errors=True)
            if Path(url).exists() and isinstance(exc, OSError):
                raise exists from None
        raise
    return store_id


def read_attrs(url: str) -> dict:
    """The store's attributes."""
    return dict(_open_group(url, "r").attrs)


def update_attrs(url: str, **attrs: object) -> None:
    """Set attributes (client side only)."""
    _open_group(url, "r+").attrs.update(attrs)


def done_map(url: str) -> np.ndarray:
    """The completion map as a bool array of the block-grid shape."""
    return np.asarray(_open_group(url, "r")[DONE][...], dtype=bool)


@lru_cache(maxsize=16)
def _writable_arrays(url: str, store_id: str) -> dict:
    """Open a store's arrays once per worker process (keyed by store_id: metadata never change)."""
    group = _open_group(url, "r+")
    if group.attrs.get("store_id") != store_id:
        raise StoreMismatchError(f"store {url} is not the store {store_id} of this scan")
    return {name: group[name] for name in group.array_keys()}


def block_is_done(url: str, store_id: str, block: Block) -> bool:
    """True if ``block``'s completion cell is set."""
    return bool(_writable_arrays(url, store_id)[DONE][block.index])


def write_block(url: str, store_id: str, block: Block, results: dict[str, np.ndarray]) -> None:
    """Write one block's values into its region, then (last) set its completion cell."""
    arrays = _writable_arrays(url, store_id)
    for exp, values in results.items():
        target = arrays[chi2_name(exp)]
        region = block.region + (slice(None),) * (target.ndim - len(block.region))
        target[region] = values
    arrays[DONE][block.index] = 1


def write_unconverged(url: str, store_id: str, block: Block, counts: Mapping[str, int]) -> None:
    """Write one block's counts of unconverged profiles per experiment (before its ``done``
    cell); a store made before these arrays existed keeps none.

    A count of 0 is the arrays' fill value and is not written (a Zarr chunk that was never
    written reads as its fill value): most blocks have none, and each chunk write costs a few
    ms. A damaged count's chunk file is deleted before its block is recomputed
    (:func:`nubound.storage.verify.clear_damaged_blocks`), so no stale count survives.
    """
    arrays = _writable_arrays(url, store_id)
    for exp, count in counts.items():
        if count and unconverged_name(exp) in arrays:
            arrays[unconverged_name(exp)][block.index] = count


def open_store(url: str, *, dask: bool = True):
    """Open a store read-only as an xarray Dataset, quenching dimensions labelled by name.

    ``dask=False``: lazily indexed numpy-backed variables, no Dask graph (for a reader in a
    process whose distributed client would otherwise receive the reads as tasks).
    """
    import xarray as xr

    url = normalize_url(url)
    if not store_exists(url):
        raise ConfigError(f"no scan store at {url}")
    ds = xr.open_zarr(url, consolidated=False, zarr_format=ZARR_FORMAT,
                      **({} if dask else {"chunks": None}))
    for name in list(ds.coords):
        choices = ds[name].attrs.get("choices")
        if name.startswith("quenching_") and choices is not None:
            ds = ds.assign_coords({name: (name, list(choices), dict(ds[name].attrs))})
    return ds


def store_size_bytes(url: str) -> int:
    """Bytes the store occupies (fsspec ``du``)."""
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url)
    return int(fs.du(path, total=True))


@dataclass(frozen=True)
class StoreStatus:
    """What ``nubound status`` prints."""

    url: str
    blocks_done: int
    blocks_total: int
    size_bytes: int
    attrs: dict


def store_status(url: str) -> StoreStatus:
    """Blocks done/total, the spec and the size of the store at ``url``."""
    url = normalize_url(url)
    if not store_exists(url):
        raise ConfigError(f"no scan store at {url}")
    attrs = read_attrs(url)
    if "spec_toml" not in attrs or DONE not in _open_group(url, "r"):
        raise ConfigError(f"{url} is a Zarr group but not a nubound scan store (no spec_toml "
                          "attribute or no done array)")
    from nubound.storage.verify import damage_reported  # verify imports this module

    with damage_reported(url):
        done = done_map(url)
    return StoreStatus(url, int(done.sum()), int(done.size), store_size_bytes(url), attrs)
