"""Reactor ν̄e flux at Dresden-II (docs/physics.md#reactor-flux).

Reference model (arXiv:2202.10829 as implemented in the Dresden-II working code, see
docs/experiments/dresden_ii.md#data): dΦ/dEν = Φ Σ_k f_k S_k(Eν) / ∫S_k with fission fractions
²³⁵U 0.58, ²³⁹Pu 0.29, ²³⁸U 0.08, ²⁴¹Pu 0.05, the per-isotope tables ``spectraMeV*.txt``
(Mueller et al. arXiv:1101.2663 above 2 MeV, a coarse grid below), zero above 8 MeV, and the
total flux Φ = 4.8e13 cm⁻² s⁻¹ (Colaresi et al. arXiv:2202.09672: 2.96 GW_th BWR, ≈ 10.4 m).

Interpolation: each table is interpolated *linearly* in Eν between its nodes. The piecewise-linear
curve is what the trapezoid rule integrates, so the unit normalisation over the table's range is
exact, and the coarse low-energy grid (0.0078 … 1.5 MeV, factor-2 steps) is not given a shape
the table does not have. A fine grid containing every table node therefore reproduces Φ exactly.

Other spectrum models (``data/fluxes``) are per-fission spectra. To put them on an absolute scale
they are multiplied by the *fission fluence rate* implied by the reference model,
R = Φ / Σ_k f_k N_k, N_k = ∫ S_k dEν the reference tables' ν̄ per fission of isotope k
(so the reference model's ν̄ count per fission sets the number of fissions per cm² per s).
The same R normalises the neutron-capture ν̄e (²³⁸U(n,γ)²³⁹U → ²³⁹Np → ²³⁹Pu, two ν̄e per
capture, ``spectraMeVU238Ncapture.txt`` normalised to 0.6 ν̄e per fission as in the reference
analysis' working code; docs/physics.md#reactor-flux): Φ_capture = 0.6 R ∫(S_capture/∫S_capture).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray

from nubound.physics.data import data_path
from nubound.physics.errors import DataFileError, PhysicsInputError
from nubound.physics.fluxes.moments import tabulated_flux_moments

# Colaresi et al., arXiv:2202.09672 (docs/physics.md#reactor-flux)
TOTAL_FLUX_CM2_S = 4.8e13
# Fission fractions used by the reference analysis (docs/physics.md#reactor-flux)
FISSION_FRACTIONS: dict[str, float] = {"U235": 0.58, "Pu239": 0.29, "U238": 0.08, "Pu241": 0.05}
# Neutron-capture ν̄e per fission (reference analysis' working code; docs/physics.md#reactor-flux)
CAPTURE_NUEBAR_PER_FISSION = 0.6
MAX_ENERGY_REFERENCE_MeV = 8.0

CAPTURE_FILE = "dresden-ii/spectraMeVU238Ncapture.txt"

SPECTRUM_MODELS = ("reference", "huber_mueller", "bestiole")

_REFERENCE_FILES = {
    "U235": "dresden-ii/spectraMeVU235.txt",
    "Pu239": "dresden-ii/spectraMeVPu239.txt",
    "U238": "dresden-ii/spectraMeVU238.txt",
    "Pu241": "dresden-ii/spectraMeVPu241.txt",
}
# Huber arXiv:1106.0687 (235U, 239Pu, 241Pu) + Mueller arXiv:1101.2663 (238U), 2–8 MeV
_HUBER_MUELLER_FILES = {
    "U235": "fluxes/U235-anti-neutrino-flux-250keV.dat",
    "Pu239": "fluxes/Pu239-anti-neutrino-flux-250keV.dat",
    "U238": "fluxes/mueller_u238.txt",
    "Pu241": "fluxes/Pu241-anti-neutrino-flux-250keV.dat",
}
# BESTIOLE summation model, arXiv:2304.14992 ancillary tables (0.0125–12.4875 MeV)
_BESTIOLE_FILES = {
    "U235": "fluxes/bestiole_u235.txt",
    "Pu239": "fluxes/bestiole_pu239.txt",
    "U238": "fluxes/bestiole_u238.txt",
    "Pu241": "fluxes/bestiole_pu241.txt",
}


def read_spectrum_table(key: str, *, sort: bool = False) -> tuple[NDArray, NDArray]:
    """Read a two-column (Eν [MeV], dN/dEν [/MeV/fission]) table of the registry.

    Accepts whitespace or comma separators, ``#`` comments and extra columns (Huber's errors).
    ``sort``: the neutron-capture table is a digitised curve whose energies go slightly
    backwards at its vertical steps; it is sorted by energy and repeated energies averaged.
    """
    path = data_path(key)
    rows = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].replace(",", " ").strip()
        if not line:
            continue
        fields = line.split()
        try:
            rows.append((float(fields[0]), float(fields[1])))
        except (ValueError, IndexError):
            raise DataFileError(f"{key}: cannot parse line '{line}' as (E_MeV, dN/dE)") from None
    table = np.array(rows)
    if sort and table.size:
        e_sorted, inverse = np.unique(table[:, 0], return_inverse=True)
        mean = np.bincount(inverse, table[:, 1]) / np.bincount(inverse)
        table = np.column_stack([e_sorted, mean])
    if table.shape[0] < 2 or np.any(np.diff(table[:, 0]) <= 0) or np.any(table[:, 1] < 0):
        raise DataFileError(f"{key}: energies must increase and the spectrum be ≥ 0")
    return table[:, 0], table[:, 1]


@cache
def _table(key: str) -> tuple[NDArray, NDArray]:
    return read_spectrum_table(key, sort=key == CAPTURE_FILE)


def _interp(energy_MeV: NDArray, key: str) -> NDArray:
    """Linear interpolation of a table, zero outside its range."""
    e, s = _table(key)
    return np.interp(energy_MeV, e, s, left=0.0, right=0.0)


def fission_fluence_rate_cm2_s(total_flux_cm2_s: float = TOTAL_FLUX_CM2_S) -> float:
    """Fissions per cm² per s at the detector implied by Φ and the reference tables (module doc)."""
    per_fission = sum(
        f * np.trapezoid(_table(_REFERENCE_FILES[k])[1], _table(_REFERENCE_FILES[k])[0])
        for k, f in FISSION_FRACTIONS.items()
    )
    return total_flux_cm2_s / per_fission


def energy_grid_MeV(spectrum_model: str = "reference", *, n_fine: int = 4000) -> NDArray:
    """Fine Eν grid holding every table node of the model (so linear interpolation is exact)."""
    files = _files(spectrum_model)
    nodes = [_table(k)[0] for k in files.values()]
    if spectrum_model == "huber_mueller":
        nodes.append(_table(_REFERENCE_FILES["U235"])[0])
    e_max = max(n[-1] for n in nodes)
    e_min = min(n[0] for n in nodes)
    fine = np.geomspace(e_min, e_max, n_fine)
    return np.unique(np.concatenate([fine, *nodes]))


def _files(spectrum_model: str) -> dict[str, str]:
    table = {
        "reference": _REFERENCE_FILES,
        "huber_mueller": _HUBER_MUELLER_FILES,
        "bestiole": _BESTIOLE_FILES,
    }
    try:
        return table[spectrum_model]
    except KeyError:
        raise PhysicsInputError(
            f"unknown reactor spectrum_model '{spectrum_model}'; allowed: "
            + ", ".join(SPECTRUM_MODELS)
        ) from None


def reactor_flux_per_MeV(
    energy_MeV: NDArray,
    *,
    spectrum_model: str = "reference",
    total_flux_cm2_s: float = TOTAL_FLUX_CM2_S,
) -> NDArray:
    """Fission ν̄e flux dΦ/dEν at Dresden-II in cm⁻² s⁻¹ MeV⁻¹ (no neutron-capture ν̄e).

    ``reference``: Φ Σ f_k S_k/∫S_k (module docstring). ``huber_mueller``: Huber ²³⁵U, ²³⁹Pu,
    ²⁴¹Pu and Mueller ²³⁸U per fission above 2 MeV, the reference tables per fission below
    2 MeV, times the fission rate R. ``bestiole``: BESTIOLE per fission × R.
    """
    e = np.asarray(energy_MeV, dtype=float)
    files = _files(spectrum_model)
    if spectrum_model == "reference":
        out = np.zeros_like(e)
        for iso, f in FISSION_FRACTIONS.items():
            te, ts = _table(files[iso])
            out += f * _interp(e, files[iso]) / np.trapezoid(ts, te)
        return total_flux_cm2_s * out
    per_fission = np.zeros_like(e)
    for iso, f in FISSION_FRACTIONS.items():
        spec = _interp(e, files[iso])
        if spectrum_model == "huber_mueller":
            low = _interp(e, _REFERENCE_FILES[iso])
            spec = np.where(e < _table(files[iso])[0][0], low, spec)
        per_fission += f * spec
    return fission_fluence_rate_cm2_s(total_flux_cm2_s) * per_fission


def capture_flux_per_MeV(
    energy_MeV: NDArray, *, total_flux_cm2_s: float = TOTAL_FLUX_CM2_S
) -> NDArray:
    """Neutron-capture ν̄e flux in cm⁻² s⁻¹ MeV⁻¹ (0.6 ν̄e per fission × R; module doc)."""
    key = CAPTURE_FILE
    te, ts = _table(key)
    shape = _interp(np.asarray(energy_MeV, dtype=float), key) / np.trapezoid(ts, te)
    return CAPTURE_NUEBAR_PER_FISSION * fission_fluence_rate_cm2_s(total_flux_cm2_s) * shape


def reactor_flux_moments(
    min_energy_MeV: NDArray,
    *,
    fluence_scale_s: float,
    spectrum_model: str = "reference",
    include_capture: bool = False,
    total_flux_cm2_s: float = TOTAL_FLUX_CM2_S,
) -> NDArray:
    """(3, nT) moments M_k(T) = ∫_{Eν_min(T)} dΦ/dEν Eν^{-k} dEν × ``fluence_scale_s``.

    ``fluence_scale_s`` is the live time in s (e.g. 96.4 days × 86400 s), so that the moments
    are fluences over the exposure, in cm⁻² MeV^{-k}.
    """
    e = energy_grid_MeV(spectrum_model)
    flux = reactor_flux_per_MeV(e, spectrum_model=spectrum_model, total_flux_cm2_s=total_flux_cm2_s)
    if include_capture:
        cap_e = _table(CAPTURE_FILE)[0]
        e_all = np.unique(np.concatenate([e, cap_e]))
        flux = reactor_flux_per_MeV(
            e_all, spectrum_model=spectrum_model, total_flux_cm2_s=total_flux_cm2_s
        ) + capture_flux_per_MeV(e_all, total_flux_cm2_s=total_flux_cm2_s)
        e = e_all
    return fluence_scale_s * tabulated_flux_moments(e, flux, min_energy_MeV)
