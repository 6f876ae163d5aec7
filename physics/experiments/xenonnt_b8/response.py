"""Detector response of XENONnT to ⁸B CEvNS: the release's monoenergetic efficiency templates
folded over the nuclear-recoil energy, at the yield nodes the likelihood needs.

Counts in bin b of run r at yield node (tly, tqy):

    s_rb = X_r Σ_isotopes N_i ∫ dR_i/dT(T) ε_rb(T; tly, tqy) dT,

X_r the exposure [t·yr], N_i the nuclei of isotope i per tonne of natural xenon, dR_i/dT the
rate per nucleus per MeV per year of flux, ε_rb the efficiency template. Between the release's
0.1 keV nodes ε is interpolated linearly in T; the integral is a trapezoid rule on a 0.02 keV
grid (``RECOIL_STEP_keV``) from 0.5 to 5.0 keV: a finer grid changes the counts by < 1e-3
(tests). Below 0.5 keV the efficiency is taken as zero (it is 1e-4 at 0.5 keV, against 0.15 at
its maximum); ⁸B recoils on xenon end below 4.8 keV, inside the grid.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray

from nubound.physics import units
from nubound.physics.experiments.xenonnt_b8 import data

RECOIL_MIN_keV = 0.5
RECOIL_MAX_keV = 5.0
RECOIL_STEP_keV = 0.02
# (tly, tqy) nodes at which the signal is given: nominal, then ±1σ along each axis
YIELD_NODES = ((0.0, 0.0), (1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0))


def recoil_grid_MeV(step_keV: float = RECOIL_STEP_keV) -> tuple[NDArray, NDArray]:
    """(T [MeV], trapezoid weights [MeV]) on [0.5, 5.0] keV."""
    n = int(round((RECOIL_MAX_keV - RECOIL_MIN_keV) / step_keV)) + 1
    t_keV = np.linspace(RECOIL_MIN_keV, RECOIL_MAX_keV, n)
    w = np.full(n, t_keV[1] - t_keV[0])
    w[[0, -1]] *= 0.5
    return t_keV / units.keV_per_MeV, w / units.keV_per_MeV


def interpolation_matrix(t_keV: NDArray) -> NDArray:
    """(nT, 46): linear interpolation in T from the efficiency nodes to ``t_keV``."""
    nodes = data.MONO_ENERGIES_keV
    eye = np.eye(nodes.size)
    return np.stack([np.interp(t_keV, nodes, eye[k], left=0.0, right=0.0)
                     for k in range(nodes.size)], axis=1)


@cache
def efficiency_on_grid(runs: tuple[str, ...], step_keV: float = RECOIL_STEP_keV) -> NDArray:
    """(nT, n_nodes × n_runs × 81): ε at each grid energy, node-major then run-major, times
    the run's exposure [t·yr]."""
    t_MeV, _ = recoil_grid_MeV(step_keV)
    interp = interpolation_matrix(t_MeV * units.keV_per_MeV)
    blocks = []
    for tly, tqy in YIELD_NODES:
        for run in runs:
            eff = data.efficiency_templates(run, tly, tqy)
            blocks.append(data.EXPOSURE_TONNE_YEAR[run] * (interp @ eff))
    out = np.concatenate(blocks, axis=1)
    out.setflags(write=False)
    return out


def response_matrix(nuclei_per_tonne: float, runs: tuple[str, ...],
                    step_keV: float = RECOIL_STEP_keV) -> NDArray:
    """(nT, n_nodes × n_runs × 81): nuclei × quadrature weight × exposure × efficiency."""
    _, w_MeV = recoil_grid_MeV(step_keV)
    return nuclei_per_tonne * w_MeV[:, None] * efficiency_on_grid(runs, step_keV)
