"""Spec texts of real-physics scans shared by tests and benchmarks (one definition each)."""

from __future__ import annotations


def vector_universal_reference(store: str, *, n_mass: int, n_coupling: int,
                               chunks: tuple[int, int]) -> str:
    """The universal light vector mediator with the three experiments of the reference
    analysis (Dresden-II with its three quenching choices, COHERENT CsI and Ar), log axes
    10 keV–10 GeV × 1e-7–1e-2."""
    return f"""
spec_version = 1
experiments = ["dresden_ii", "coherent_csi", "coherent_ar"]
store = "{store}"
confidence_level = 0.9
data = "observed"
[model]
name = "vector_universal"
parameters = {{ interference = "standard" }}
[[axes]]
name = "mass_MeV"
unit = "MeV"
scale = "log"
start = 0.01
stop = 1e4
n = {n_mass}
[[axes]]
name = "coupling"
unit = "1"
scale = "log"
start = 1e-7
stop = 1e-2
n = {n_coupling}
[quenching]
dresden_ii = ["fef", "ybe", "lindhard"]
[chunks]
mass_MeV = {chunks[0]}
coupling = {chunks[1]}
"""
