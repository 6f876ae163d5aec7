"""Detector response of COHERENT CENNS-10 (Analysis A): nuclear recoil → (E_rec, F90, time) bin.

All inputs from the release (arXiv:2006.12659, ``LArParametersAnlA.yaml``):

- quenching: E_ee = QF(T) T with QF = a + b T[keVnr], a = 0.246, b = 0.00078 /keVnr;
- acceptance: ``CENNS10AnlAEfficiency.txt`` as a function of the electron-equivalent energy of
  the recoil (keVee column; its keVnr column is the same points through the nominal QF),
  linear interpolation, 0 below the first point, the last value (0.963) above 39.75 keVee;
- resolution: Gaussian in reconstructed energy with σ = 0.58 sqrt(E_ee[keVee]) keVee,
  truncated at E_rec = 0 and renormalised over E_rec > 0 (reconstructed energies are ≥ 0);
- F90: the release's CEvNS template is used only for the F90 *shape* per reconstructed-energy
  bin, P(F90 | E_rec bin); the bins above 60 keVee, empty in that template, take the prompt-BRN
  template's F90 shape (also nuclear recoils) — no CEvNS recoil reaches them (T_max = 150 keVnr
  is 54 keVee);
- timing: the proton pulse (Gaussian 440 ns, 150 ns) ⊗ τ_π (prompt) or τ_π ⊗ τ_μ (delayed),
  integrated over the 0.5 µs bins from −0.1 µs (``fluxes.pion_dar.time_bin_fractions``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from nubound.physics import units
from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments.coherent_ar import data as rel
from nubound.physics.fluxes.pion_dar import time_bin_fractions

# Recoil grid: midpoints of 0.25 keVnr cells up to 150 keVnr, above T_max = 149.6 keVnr of Ar-40
# for the Michel endpoint m_μ/2 (T_max = 2E²/(M + 2E)).
RECOIL_STEP_keVnr = 0.25
RECOIL_MAX_keVnr = 150.0


def quenching_factor(
    recoil_energy_keVnr: ArrayLike,
    *,
    offset: float = rel.QF_OFFSET,
    slope_per_keVnr: float = rel.QF_SLOPE_PER_keVnr,
) -> NDArray:
    """QF(T) = a + b T (release YAML ``larQF``), dimensionless."""
    t = np.asarray(recoil_energy_keVnr, dtype=float)
    return offset + slope_per_keVnr * t


def quenched_energy_keVee(
    recoil_energy_keVnr: ArrayLike,
    *,
    offset: float = rel.QF_OFFSET,
    slope_per_keVnr: float = rel.QF_SLOPE_PER_keVnr,
) -> NDArray:
    """Electron-equivalent energy E_ee = QF(T) T in keVee."""
    t = np.asarray(recoil_energy_keVnr, dtype=float)
    return quenching_factor(t, offset=offset, slope_per_keVnr=slope_per_keVnr) * t


def acceptance(energy_keVee: ArrayLike) -> NDArray:
    """Released acceptance efficiency at electron-equivalent energy (keVee), in [0, 1]."""
    tab = rel.efficiency_table()
    e = np.asarray(energy_keVee, dtype=float)
    return np.interp(e, tab.energy_keVee, tab.efficiency, left=0.0, right=tab.efficiency[-1])


def energy_smearing(energy_keVee: ArrayLike) -> NDArray:
    """P(E_rec bin | E_ee), shape (n, 12): Gaussian σ = 0.58 sqrt(E_ee), renormalised on E_rec > 0.

    Rows sum to the probability that E_rec < 120 keVee given E_rec > 0 (1 for E_ee ≲ 100 keVee).
    """
    e = np.asarray(energy_keVee, dtype=float)[:, None]
    if np.any(e <= 0):
        raise PhysicsInputError("energy_smearing: electron-equivalent energies must be > 0 keVee")
    sigma = rel.RESOLUTION_keVee_SQRT * np.sqrt(e)
    cdf = ndtr((rel.ENERGY_EDGES_keVee[None, :] - e) / sigma)
    return np.diff(cdf, axis=1) / (1.0 - ndtr(-e / sigma))


def f90_shape() -> NDArray:
    """P(F90 bin | E_rec bin), shape (12, 8), rows summing to 1 (see the module docstring)."""
    cevns = rel.release_grid("cevns").sum(axis=2)
    brn = rel.release_grid("brn").sum(axis=2)
    use = np.where(cevns.sum(axis=1, keepdims=True) > 0, cevns, brn)
    return use / use.sum(axis=1, keepdims=True)


def time_shape(
    component: str, *, pulse_mean_ns: float = rel.PULSE_MEAN_ns,
    pulse_sigma_ns: float = rel.PULSE_SIGMA_ns,
) -> NDArray:
    """Fraction of the prompt or delayed neutrinos in each of the 10 time bins."""
    return time_bin_fractions(
        rel.TIME_EDGES_us, component, pulse_mean_ns=pulse_mean_ns, pulse_sigma_ns=pulse_sigma_ns
    )


def recoil_grid_MeV() -> tuple[NDArray, NDArray]:
    """Recoil-energy nodes (MeV) and midpoint-rule weights (MeV)."""
    n = int(round(RECOIL_MAX_keVnr / RECOIL_STEP_keVnr))
    t_keV = (np.arange(n) + 0.5) * RECOIL_STEP_keVnr
    return t_keV / units.keV_per_MeV, np.full(n, RECOIL_STEP_keVnr / units.keV_per_MeV)


def detection_probability(
    recoil_energy_MeV: ArrayLike,
    component: str,
    *,
    qf_offset: float = rel.QF_OFFSET,
    qf_slope_per_keVnr: float = rel.QF_SLOPE_PER_keVnr,
) -> NDArray:
    """P(bin | T) × acceptance for nuclear recoils, shape (nT, 960) in the release's bin order."""
    t_keV = np.asarray(recoil_energy_MeV, dtype=float) * units.keV_per_MeV
    e_ee = quenched_energy_keVee(t_keV, offset=qf_offset, slope_per_keVnr=qf_slope_per_keVnr)
    p_energy = acceptance(e_ee)[:, None] * energy_smearing(e_ee)  # (nT, 12)
    p = p_energy[:, :, None, None] * f90_shape()[None, :, :, None]
    p = p * time_shape(component)[None, None, None, :]
    return p.reshape(t_keV.size, -1)
