"""The COHERENT CENNS-10 liquid-argon data release (Analysis A), read once.

Source: COHERENT, PRL 126 (2021) 012002, arXiv:2003.10630; data release arXiv:2006.12659,
Zenodo 10.5281/zenodo.3903810 (files and formats: docs/experiments/coherent_ar.md#data).
The 3-D files hold 960 rows: reconstructed energy (12 bins of 10 keVee, 0–120 keVee), F90
(8 bins of 0.05, 0.50–0.90) and trigger time (10 bins of 0.5 µs, −0.1–4.9 µs); energy varies
slowest, time fastest. Each file is returned as an array of shape (12, 8, 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from nubound.physics.data import data_path
from nubound.physics.errors import DataFileError

FOLDER = "coherent-ar-2020"
GRID_SHAPE = (12, 8, 10)  # (energy, F90, time)
ENERGY_EDGES_keVee = np.linspace(0.0, 120.0, 13)
F90_EDGES = np.linspace(0.50, 0.90, 9)
TIME_EDGES_us = np.linspace(-0.10, 4.90, 11)

# LArParametersAnlA.yaml of the release (values; uncertainties where given)
FIDUCIAL_MASS_kg = 24.4
FIDUCIAL_MASS_UNCERTAINTY_kg = 0.61
QF_OFFSET = 0.246  # QF = a + b T[keVnr]
QF_OFFSET_UNCERTAINTY = 0.006
QF_SLOPE_PER_keVnr = 0.00078
QF_SLOPE_UNCERTAINTY_PER_keVnr = 0.00009
NEUTRINOS_PER_PROTON_RELATIVE_UNCERTAINTY = 0.009 / 0.09
RESOLUTION_keVee_SQRT = 0.58  # σ/E = a/sqrt(E[keVee])
PULSE_MEAN_ns = 440.0
PULSE_MEAN_UNCERTAINTY_ns = 200.0
PULSE_SIGMA_ns = 150.0
# predicted normalisations before the fit (value, 1σ) and the best fit after it
CEVNS_PREDICTION = (128.0, 17.0)
PROMPT_BRN_PREDICTION = (497.0, 160.0)
DELAYED_BRN_PREDICTION = (33.0, 33.0)
STEADY_STATE_PREDICTION = (3154.0, 25.0)
CEVNS_BEST_FIT = (159.0, 43.0)

TEMPLATE_FILES = {
    "data": "datanobkgsub.txt",
    "cevns": "cevnspdf.txt",
    "cevns_f90_plus": "cevnspdf+1sigF90.txt",
    "cevns_f90_minus": "cevnspdf-1sigF90.txt",
    "cevns_timing_mean": "cevnspdfCEvNSTimingMeanSyst.txt",
    "brn": "brnpdf.txt",
    "brn_energy_plus": "brnpdf+1sigEnergy.txt",
    "brn_energy_minus": "brnpdf-1sigEnergy.txt",
    "brn_timing_mean_plus": "brnpdf+1sigBRNTimingMean.txt",
    "brn_timing_mean_minus": "brnpdf-1sigBRNTimingMean.txt",
    "brn_timing_width": "brnpdfBRNTimingWidthSyst.txt",
    "delayed_brn": "delbrnpdf.txt",
    "steady_state": "bkgpdf.txt",
}


@cache
def release_grid(name: str) -> NDArray:
    """One 3-D file of the release (key of ``TEMPLATE_FILES``) as a read-only (12, 8, 10) array."""
    path = data_path(f"{FOLDER}/{TEMPLATE_FILES[name]}")
    table = np.loadtxt(path)
    if table.shape != (int(np.prod(GRID_SHAPE)), 4):
        raise DataFileError(f"{path}: expected 960 rows × 4 columns, got {table.shape}")
    centres = (ENERGY_EDGES_keVee[:-1] + 5.0)[:, None, None]
    if not np.allclose(table[:, 0].reshape(GRID_SHAPE), np.broadcast_to(centres, GRID_SHAPE)):
        raise DataFileError(f"{path}: energy column is not in the expected row order")
    grid = table[:, 3].reshape(GRID_SHAPE)
    grid.setflags(write=False)
    return grid


@dataclass(frozen=True)
class EfficiencyTable:
    """CENNS10AnlAEfficiency.txt: bin centres in keVee and keVnr, acceptance efficiency."""

    energy_keVee: NDArray
    recoil_energy_keVnr: NDArray
    efficiency: NDArray


@cache
def efficiency_table() -> EfficiencyTable:
    """The released acceptance efficiency (80 rows)."""
    path = data_path(f"{FOLDER}/CENNS10AnlAEfficiency.txt")
    table = np.loadtxt(path)
    if table.ndim != 2 or table.shape[1] != 3:
        raise DataFileError(f"{path}: expected 3 columns (keVee, keVnr, efficiency)")
    cols = [np.array(table[:, i]) for i in range(3)]
    for c in cols:
        c.setflags(write=False)
    return EfficiencyTable(*cols)


@cache
def projection_1d(axis: str) -> NDArray:
    """The paper's 1-D projection table (``energy``, ``f90`` or ``timing``), header dropped.

    Columns: bin centre, SS-subtracted data, its statistical error, best-fit CEvNS, best-fit BRN,
    CEvNS+BRN, systematic band low, high.
    """
    path = data_path(f"{FOLDER}/{axis}data1d.txt")
    return np.loadtxt(path, skiprows=1)
