"""Spec texts of mediator scans shared by tests and benchmarks (one definition each)."""

from __future__ import annotations


def mediator_spec_text(store: str, *, experiments: tuple[str, ...], model: str,
                       quenching: dict[str, tuple[str, ...]], n_mass: int, n_coupling: int,
                       chunks: tuple[int, int], coupling_start: float = 1e-7,
                       data: str = "observed") -> str:
    """TOML of a mass × coupling scan: log axes 10 keV–10 GeV × ``coupling_start``–1e-2,
    standard interference, 90 % CL."""
    def listed(items) -> str:
        return ", ".join(f'"{item}"' for item in items)

    names = listed(experiments)
    choices = "\n".join(f"{e} = [{listed(qs)}]" for e, qs in quenching.items())
    return f"""
spec_version = 1
experiments = [{names}]
store = "{store}"
confidence_level = 0.9
data = "{data}"
[model]
name = "{model}"
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
start = {coupling_start:g}
stop = 1e-2
n = {n_coupling}
[quenching]
{choices}
[chunks]
mass_MeV = {chunks[0]}
coupling = {chunks[1]}
"""


def vector_universal_reference(store: str, *, n_mass: int, n_coupling: int,
                               chunks: tuple[int, int]) -> str:
    """The universal light vector mediator with the three experiments of the reference
    analysis (Dresden-II with its three quenching choices, COHERENT CsI and Ar), log axes
    10 keV–10 GeV × 1e-7–1e-2."""
    return mediator_spec_text(store, experiments=("dresden_ii", "coherent_csi", "coherent_ar"),
                              model="vector_universal",
                              quenching={"dresden_ii": ("fef", "ybe", "lindhard")},
                              n_mass=n_mass, n_coupling=n_coupling, chunks=chunks)
