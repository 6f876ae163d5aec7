"""The XENONnT solar ⁸B CEvNS release (doi:10.5281/zenodo.20576156; registry folder
``xenonnt-b8/``, verified against its sha256 manifest): observed events, binning, templates.

Each science run (SR0, SR1, SR2) has 3⁴ = 81 bins in (cS2, S2-shadow quantile, S1 BDT,
S2 BDT), flattened in C order (cS2 slowest). Templates (HDF5, ``/templates/template`` of shape
(3, 3, 3, 3), edges in ``/bins/0..3``) are read with h5py:

- ``ac``, ``er``: accidental coincidences and electronic recoils, events per tonne·year;
- ``rg``: radiogenic neutrons, events per t·yr, one per (tly, tqy) node;
- ``mono``: detection efficiency of nuclear recoils of one energy (0.5–5.0 keV in 0.1 keV
  steps) per bin, one per (tly, tqy) node. Values ≤ 1e-10 are the release's "floor"
  placeholders for vanishing efficiency and are read as 0.

Exposures (t·yr) are those of the release's example notebook (SR0+SR1 = 3.517 t·yr, the
published 3.51 t·yr of arXiv:2408.02877).
"""

from __future__ import annotations

import csv
from functools import cache

import h5py
import numpy as np
from numpy.typing import NDArray

from nubound.physics.data import data_path
from nubound.physics.errors import PhysicsInputError

FOLDER = "xenonnt-b8"
RUNS = ("sr0", "sr1", "sr2")
EXPOSURE_TONNE_YEAR = {"sr0": 1.174398, "sr1": 2.342593, "sr2": 3.249665}
OBSERVABLES = ("cs2", "s2_shadow_s2_time_shadow_quantile", "s1_bdt_score", "s2_bdt_score")
BINS_PER_RUN = 81
MONO_ENERGIES_keV = np.round(np.linspace(0.5, 5.0, 46), 3)
YIELD_GRID = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)  # tly and tqy nodes, units of 1σ
EFFICIENCY_FLOOR = 1e-10  # values at or below: the release's placeholders for zero


def check_runs(runs: tuple[str, ...] | list[str] | str) -> tuple[str, ...]:
    """Validate a selection of science runs (kept in release order)."""
    if isinstance(runs, str):
        runs = tuple(r.strip() for r in runs.split(",") if r.strip())
    bad = [r for r in runs if r not in RUNS]
    if bad or not runs or len(set(runs)) != len(runs):
        raise PhysicsInputError(
            f"xenonnt_b8: runs must be distinct names from {', '.join(RUNS)}; got {runs}")
    return tuple(r for r in RUNS if r in runs)


def _template_path(run: str, kind: str, *, energy_keV: float | None = None,
                   tly: float = 0.0, tqy: float = 0.0) -> str:
    base = f"{FOLDER}/templates/{run}/{kind}/template_XENONnT_{run}_{kind}"
    if kind in ("ac", "er"):
        return f"{base}_cevns.h5"
    if kind == "rg":
        return f"{base}_cevns_tly_{tly:.1f}_tqy_{tqy:.1f}.h5"
    return f"{base}_{energy_keV:.3f}_cevns_tly_{tly:.1f}_tqy_{tqy:.1f}.h5"


def _read_template(key: str) -> tuple[NDArray, tuple[NDArray, ...]]:
    with h5py.File(data_path(key), "r") as f:
        hist = np.asarray(f["templates/template"][()], dtype=float)
        edges = tuple(np.asarray(f[f"bins/{i}"][()], dtype=float) for i in range(4))
    return hist, edges


@cache
def bin_edges(run: str) -> tuple[NDArray, ...]:
    """The four edge arrays of a run (from its AC template; the other templates share them)."""
    return _read_template(_template_path(run, "ac"))[1]


@cache
def background_template(run: str, kind: str, tly: float = 0.0, tqy: float = 0.0) -> NDArray:
    """Expected events per t·yr in the 81 bins: ``kind`` ∈ ac, er, rg (rg at a yield node)."""
    hist, _ = _read_template(_template_path(run, kind, tly=tly, tqy=tqy))
    out = hist.reshape(-1)
    out.setflags(write=False)
    return out


@cache
def efficiency_templates(run: str, tly: float = 0.0, tqy: float = 0.0) -> NDArray:
    """(46, 81): detection efficiency per bin of nuclear recoils at ``MONO_ENERGIES_keV``."""
    rows = []
    for e in MONO_ENERGIES_keV:
        hist, _ = _read_template(_template_path(run, "mono", energy_keV=e, tly=tly, tqy=tqy))
        rows.append(hist.reshape(-1))
    out = np.stack(rows)
    out[out <= EFFICIENCY_FLOOR] = 0.0
    out.setflags(write=False)
    return out


@cache
def events(run: str) -> NDArray:
    """(n_events, 4): the run's selected events, columns ``OBSERVABLES``."""
    with open(data_path(f"{FOLDER}/data/{run}.csv"), newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0][1:]
    if tuple(header) != OBSERVABLES:
        raise PhysicsInputError(f"xenonnt_b8: unexpected columns {header} in data/{run}.csv")
    out = np.array([[float(x) for x in r[1:]] for r in rows[1:]], dtype=float)
    out.setflags(write=False)
    return out


@cache
def observed_counts(run: str) -> NDArray:
    """Observed events per bin (81,), histogrammed with the template edges."""
    counts, _ = np.histogramdd(events(run), bins=bin_edges(run))
    out = counts.reshape(-1)
    out.setflags(write=False)
    return out
