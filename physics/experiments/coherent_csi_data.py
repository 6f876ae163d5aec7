"""COHERENT CsI[Na] 2021 data and background templates (arXiv:2110.07730 ancillary files).

- ``dataBeamOnC.txt`` / ``dataBeamOnAC.txt``: selected events (PE, t_rec [µs]) in the
  beam-coincident (C) and anti-coincident (AC, steady-state only, same exposure) windows;
- ``brnPE.txt`` / ``ninPE.txt``: 1-PE-bin energy PDFs of beam-related neutrons (BRN) and
  neutrino-induced neutrons (NIN), efficiency included, Σ_{PE<60} = 1;
- ``brnTrec.txt`` / ``ninTrec.txt``: 0.01-µs-bin arrival-time PDFs (arbitrary normalisation,
  time efficiency *not* included).

Binned 2-D quantities are flattened as ``index = i_pe * n_time + i_time``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from nubound.physics.data import data_path
from nubound.physics.errors import DataFileError
from nubound.physics.experiments.coherent_csi_response import (
    PE_EDGES,
    RELEASE,
    TIME_EDGES_us,
    integrated_time_efficiency,
)

# Prior normalisations of the beam backgrounds in PE < 60, 0 ≤ t < 6 µs, after efficiencies
# (events). BRN 18.4 ± 4.6, NIN 5.6 ± 2.0: docs/experiments/coherent_csi.md#likelihood (third-party
# fits
# quoting the supplement of arXiv:2110.07730; the Newtrinos.jl priors, 25 % and 36 %, agree).
BRN_EVENTS, BRN_SIGMA_EVENTS = 18.4, 4.6
NIN_EVENTS, NIN_SIGMA_EVENTS = 5.6, 2.0

SS_TEMPLATES = ("factorized", "anticoincidence_2d")


@lru_cache(maxsize=2)
def event_list(window: str) -> NDArray:
    """(n_events, 2) array of (PE, t_rec µs) for window ``"C"`` or ``"AC"``."""
    name = {"C": "dataBeamOnC.txt", "AC": "dataBeamOnAC.txt"}[window]
    events = np.loadtxt(data_path(f"{RELEASE}/{name}"), comments="#", ndmin=2)
    if events.shape[1] != 2:
        raise DataFileError(f"{name}: expected 2 columns (PE, t_rec), got {events.shape[1]}")
    return events


def binned_events(window: str) -> NDArray:
    """Counts of a window in the analysis bins, shape (n_pe, n_time)."""
    ev = event_list(window)
    pe_edges, t_edges = np.asarray(PE_EDGES), np.asarray(TIME_EDGES_us)
    inside = (
        (ev[:, 0] >= pe_edges[0]) & (ev[:, 0] < pe_edges[-1])
        & (ev[:, 1] >= t_edges[0]) & (ev[:, 1] < t_edges[-1])
    )
    counts, _, _ = np.histogram2d(ev[inside, 0], ev[inside, 1], bins=[pe_edges, t_edges])
    return counts


def _two_column(name: str, rows: int) -> NDArray:
    table = np.loadtxt(data_path(f"{RELEASE}/{name}"), comments="#", ndmin=2)
    if table.shape != (rows, 2):
        raise DataFileError(f"{name}: expected shape {(rows, 2)}, got {table.shape}")
    return table


def _pe_pdf_in_bins(name: str) -> NDArray:
    """1-PE-bin PDF (bin centres k + 0.5) summed into the analysis PE bins."""
    table = _two_column(name, 250)
    lower = table[:, 0] - 0.5
    edges = np.asarray(PE_EDGES)
    which = np.searchsorted(edges, lower, side="right") - 1
    out = np.zeros(edges.size - 1)
    ok = (which >= 0) & (which < edges.size - 1)
    np.add.at(out, which[ok], table[ok, 1])
    return out


def _time_pdf_in_bins(name: str) -> NDArray:
    """0.01-µs-bin PDF rebinned (by overlap) into the analysis time bins, times ε_t."""
    table = _two_column(name, 650)
    lo, hi = table[:, 0] - 0.005, table[:, 0] + 0.005
    density = table[:, 1] / 0.01
    edges = np.asarray(TIME_EDGES_us)
    out = np.empty(edges.size - 1)
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        olo, ohi = np.maximum(lo, a), np.minimum(hi, b)
        keep = ohi > olo
        out[i] = np.sum(density[keep] * integrated_time_efficiency(olo[keep], ohi[keep]))
    return out


def beam_background_template(kind: str) -> NDArray:
    """BRN or NIN expectation in the analysis bins at its prior normalisation, (n_pe, n_time).

    PE PDF (efficiency included) ⊗ time PDF × ε_t, scaled to the prior events in the region.
    """
    totals = {"brn": BRN_EVENTS, "nin": NIN_EVENTS}
    if kind not in totals:
        raise ValueError(kind)
    pe_pdf = _pe_pdf_in_bins(f"{kind}PE.txt")
    t_pdf = _time_pdf_in_bins(f"{kind}Trec.txt")
    total = totals[kind]
    shape = np.outer(pe_pdf, t_pdf)
    return total * shape / shape.sum()


def steady_state_template(kind: str = "factorized") -> NDArray:
    """Steady-state background expected in the C window, (n_pe, n_time).

    ``factorized`` (default): N_AC × (AC PE spectrum) ⊗ (flat in time × ε_t), which removes the
    per-bin Poisson noise of the AC histogram; the AC time projection agrees with flat × ε_t
    (χ² ≈ 3.8 for 10 dof in the analysis region). ``anticoincidence_2d``: the AC 2-D histogram.
    """
    ac = binned_events("AC")
    if kind == "anticoincidence_2d":
        return ac
    if kind != "factorized":
        raise ValueError(kind)
    edges = np.asarray(TIME_EDGES_us)
    t_shape = integrated_time_efficiency(edges[:-1], edges[1:])
    return np.outer(ac.sum(axis=1), t_shape / t_shape.sum())
