"""Nuclides and targets against AME2020 binding energies and IUPAC atomic weights."""

import pytest

from nubound.physics import nuclei, units
from nubound.physics.errors import PhysicsInputError

# AME2020 (Wang et al., Chin. Phys. C 45 (2021) 030003) binding energy per nucleon, keV
AME2020_BINDING_PER_NUCLEON_keV = {
    "Ge70": 8721.700, "Ge72": 8731.745, "Ge73": 8705.049, "Ge74": 8725.200,
    "Ge76": 8705.236, "Cs133": 8409.978, "I127": 8445.487, "Ar40": 8595.259,
}


@pytest.mark.parametrize("name", sorted(AME2020_BINDING_PER_NUCLEON_keV))
def test_nuclear_mass_reproduces_ame_binding_energy(name):
    nuc = nuclei.NUCLIDES[name]
    binding = nuc.Z * units.proton_mass_MeV + nuc.N * units.neutron_mass_MeV - nuc.mass_MeV
    # electron binding (neglected in the nuclear mass) is < 0.02 keV per nucleon here
    assert binding / nuc.A * 1e3 == pytest.approx(AME2020_BINDING_PER_NUCLEON_keV[name], abs=0.02)


@pytest.mark.parametrize("nuc", list(nuclei.NUCLIDES.values()), ids=lambda n: n.name)
def test_mass_close_to_a_times_u(nuc):
    # nuclear mass = A u + mass excess (|Δ| < 90 MeV here) − Z m_e: within 0.2 % of A u
    assert nuc.mass_MeV == pytest.approx(nuc.A * units.atomic_mass_unit_MeV, rel=2e-3, abs=0)
    assert nuc.mass_MeV < nuc.A * units.atomic_mass_unit_MeV  # all have Δ < 0
    assert nuc.A == nuc.Z + nuc.N


def test_natural_germanium_molar_mass_iupac():
    # IUPAC standard atomic weight of Ge: 72.630(8) g/mol
    assert nuclei.target("Ge").mean_atomic_mass_g_per_mol == pytest.approx(72.630, abs=0.008)


@pytest.mark.parametrize("name", sorted(nuclei.TARGETS))
def test_abundances_sum_to_one(name):
    tgt = nuclei.target(name)
    assert sum(f for _, f in tgt.isotopes) == pytest.approx(1.0, abs=1e-12)
    assert all(f > 0 for _, f in tgt.isotopes)


def test_germanium_without_76():
    tgt = nuclei.target("Ge_no76")
    names = {n.name for n, _ in tgt.isotopes}
    assert names == {"Ge70", "Ge72", "Ge73", "Ge74"}
    # reference-code fractions 0.2052, 0.2745, 0.0776, 0.3652 renormalised
    # (docs/experiments/dresden_ii.md#signal)
    frac = dict((n.name, f) for n, f in tgt.isotopes)
    assert frac["Ge74"] == pytest.approx(0.3652 / 0.9225, rel=1e-12, abs=0)


def test_averaged_nucleus_means():
    tgt = nuclei.target("Ge")
    avg = nuclei.averaged_nucleus(tgt)
    assert avg.Z == 32
    # mean A of natural Ge (abundances of docs/physics.md#constants) = 72.705
    assert avg.A == pytest.approx(72.705, abs=1e-3)
    assert avg.mass_MeV == pytest.approx(tgt.mean_mass_MeV)


def test_number_of_atoms_per_kg_germanium():
    # N_A × 1000 g / 72.630 g/mol = 8.2915e24 atoms per kg (IUPAC weight, CODATA N_A)
    n_atoms = nuclei.number_of_atoms(1.0, nuclei.target("Ge"))
    assert n_atoms == pytest.approx(8.2915e24, rel=1e-4, abs=0)


def test_number_of_atoms_csi_pair():
    # 14.6 kg CsI: 14600 g / (132.905 + 126.904) g/mol × N_A = 3.384e25 molecules
    cs = nuclei.number_of_atoms(1.0, nuclei.target("Cs"))
    i = nuclei.number_of_atoms(1.0, nuclei.target("I"))
    molecules_per_kg = 1.0 / (1.0 / cs + 1.0 / i)
    assert 14.6 * molecules_per_kg == pytest.approx(3.384e25, rel=1e-3, abs=0)


def test_errors_name_choices():
    with pytest.raises(PhysicsInputError, match="allowed"):
        nuclei.target("Xe")
    with pytest.raises(PhysicsInputError):
        nuclei.number_of_atoms(-1.0, nuclei.target("Ar"))
