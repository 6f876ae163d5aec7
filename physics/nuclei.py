"""Target nuclei: charge, neutron number, nuclear mass, and natural isotopic mixtures.

Atomic masses: AME2020 (W.J. Huang et al., Chin. Phys. C 45, 030002 (2021)).
Isotopic abundances of germanium: IUPAC 2013 / docs/physics.md#constants (70, 72, 73, 74, 76 with
20.57, 27.45, 7.75, 36.50, 7.73 %).
"""

from __future__ import annotations

from dataclasses import dataclass

from nubound.physics import units
from nubound.physics.errors import PhysicsInputError


@dataclass(frozen=True)
class Nucleus:
    """A nuclide: proton number Z, neutron number N and nuclear mass in MeV."""

    name: str
    Z: int
    N: int
    mass_MeV: float

    @property
    def A(self) -> int:
        """Mass number."""
        return self.Z + self.N


def _from_atomic_mass(name: str, Z: int, A: int, atomic_mass_u: float) -> Nucleus:
    # nuclear mass = atomic mass − Z m_e (electron binding energies, < 0.1 MeV, neglected)
    mass = atomic_mass_u * units.atomic_mass_unit_MeV - Z * units.electron_mass_MeV
    return Nucleus(name, Z, A - Z, mass)


# AME2020 atomic masses in u
NUCLIDES: dict[str, Nucleus] = {
    n.name: n
    for n in (
        _from_atomic_mass("Ge70", 32, 70, 69.924248750),
        _from_atomic_mass("Ge72", 32, 72, 71.922075826),
        _from_atomic_mass("Ge73", 32, 73, 72.923458956),
        _from_atomic_mass("Ge74", 32, 74, 73.921177761),
        _from_atomic_mass("Ge76", 32, 76, 75.921402726),
        _from_atomic_mass("Cs133", 55, 133, 132.905451961),
        _from_atomic_mass("I127", 53, 127, 126.904471000),
        _from_atomic_mass("Ar40", 18, 40, 39.962383124),
    )
}


@dataclass(frozen=True)
class Target:
    """A detector material's nuclei as (nuclide, number fraction) pairs; fractions sum to 1."""

    name: str
    isotopes: tuple[tuple[Nucleus, float], ...]

    @property
    def mean_mass_MeV(self) -> float:
        """Number-weighted mean nuclear mass."""
        return sum(n.mass_MeV * f for n, f in self.isotopes)

    @property
    def mean_atomic_mass_g_per_mol(self) -> float:
        """Number-weighted molar mass (nuclear + electron masses) in g/mol."""
        total = 0.0
        for nuc, frac in self.isotopes:
            mass_MeV = nuc.mass_MeV + nuc.Z * units.electron_mass_MeV
            total += frac * mass_MeV / units.atomic_mass_unit_MeV
        return total


def _natural(name: str, pairs: tuple[tuple[str, float], ...]) -> Target:
    norm = sum(f for _, f in pairs)
    return Target(name, tuple((NUCLIDES[k], f / norm) for k, f in pairs))


GE_NATURAL_ABUNDANCES = (
    ("Ge70", 20.57), ("Ge72", 27.45), ("Ge73", 7.75), ("Ge74", 36.50), ("Ge76", 7.73),
)
# The reference analysis' Dresden-II code keeps 70, 72, 73, 74 and drops 76
# (docs/experiments/dresden_ii.md#signal).
GE_WITHOUT_76_ABUNDANCES = (("Ge70", 20.52), ("Ge72", 27.45), ("Ge73", 7.76), ("Ge74", 36.52))

TARGETS: dict[str, Target] = {
    "Ge": _natural("Ge", GE_NATURAL_ABUNDANCES),
    "Ge_no76": _natural("Ge_no76", GE_WITHOUT_76_ABUNDANCES),
    "Cs": _natural("Cs", (("Cs133", 1.0),)),
    "I": _natural("I", (("I127", 1.0),)),
    "Ar": _natural("Ar", (("Ar40", 1.0),)),
}


def target(name: str) -> Target:
    """Look up a target by name (``Ge``, ``Ge_no76``, ``Cs``, ``I``, ``Ar``)."""
    try:
        return TARGETS[name]
    except KeyError:
        raise PhysicsInputError(
            f"unknown target '{name}'; allowed: {', '.join(sorted(TARGETS))}"
        ) from None


def averaged_nucleus(tgt: Target) -> Nucleus:
    """One nucleus with the target's mean N and mass (Dresden-II reference treatment).

    N and the mass are number-weighted means and so not integers in general; Z is common.
    """
    zs = {n.Z for n, _ in tgt.isotopes}
    if len(zs) != 1:
        raise PhysicsInputError(f"target {tgt.name} mixes elements; cannot average")
    mean_n = sum(n.N * f for n, f in tgt.isotopes)
    return Nucleus(f"{tgt.name}_avg", zs.pop(), mean_n, tgt.mean_mass_MeV)  # type: ignore[arg-type]


def number_of_atoms(mass_kg: float, tgt: Target) -> float:
    """Number of atoms (= nuclei) in ``mass_kg`` of the target material."""
    if mass_kg < 0:
        raise PhysicsInputError(f"detector mass must be ≥ 0 kg, got {mass_kg}")
    return mass_kg * units.g_per_kg / tgt.mean_atomic_mass_g_per_mol * units.avogadro_per_mol
