"""Light vector mediator Z′ on nuclei and electrons, interfering with the SM
(docs/physics.md#vector-mediator).

With s = ±1 the interference option and the charges of ``cross_sections.bsm_vector``:
nucleus  Q_V → Q_V + s g² Q′_ν X P(q),  X = Z Q′_p + N Q′_n,  P = 1/(√2 G_F (q² + M²));
electron g_V → g_V + s g² Q′_ν Q′_e P(√(2 m_e T)).
Squaring, counts = SM + s g² C_1(M) + g⁴ C_2(M) with, per flavour f (rate densities from the
moments, unit-charge CEvNS rate R_f, K = M_0 − 2T M_1 + T² M_2, e-prefactor G_F² m_e/2π):
  nucleus   C_1 ← 2 Q_V X Q′_ν,f R_f P,          C_2 ← X² Q′_ν,f² R_f P²;
  electron  C_1 ← Q′_ν,f Q′_e [2(g_V+g_A) M_0 + 2(g_V−g_A) K − 2 g_V m_e T M_2] P,
            C_2 ← (Q′_ν,f Q′_e)² [M_0 + K − m_e T M_2] P²
(the linear and quadratic terms of the ν–e bracket in g_V; Vogel & Engel 1989, Eq. (1)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nubound.physics import units
from nubound.physics.cross_sections.bsm_vector import (
    INTERFERENCE_SIGNS,
    VectorCharges,
    vector_charges,
)
from nubound.physics.cross_sections.cevns import weak_charge
from nubound.physics.cross_sections.nu_e import electron_couplings
from nubound.physics.experiments.base import Channel, Experiment
from nubound.physics.models.base import (
    MassTerm,
    Model,
    Option,
    Parameter,
    StaticTemplates,
    channels_of,
    sm_counts,
)
from nubound.physics.rates import cevns_sm_rate

INTERFERENCE_OPTION = Option(
    "interference",
    tuple(INTERFERENCE_SIGNS),
    "standard",
    "sign of the Z′–SM interference: 'standard' (Z and Z′ integrated out alike) or 'flipped'",
)


def _electron_pieces(ch: Channel, flavour_index: int) -> tuple[NDArray, NDArray]:
    """(linear, quadratic) coefficients of the ν–e rate density in the g_V shift."""
    flav = ch.flavours[flavour_index]
    sin2w = ch.meta.get("sin2_theta_w", units.sin2_theta_w)
    g_v, g_a = electron_couplings(flav, sin2w)
    t = ch.recoil_energy_MeV
    me = units.electron_mass_MeV
    m0, m1, m2 = ch.flux_moments[flavour_index]
    k = m0 - 2.0 * t * m1 + t**2 * m2
    pref = units.per_MeV2_to_cm2(units.fermi_constant_per_MeV2**2 * me / (2.0 * np.pi))
    linear = pref * (2.0 * (g_v + g_a) * m0 + 2.0 * (g_v - g_a) * k - 2.0 * g_v * me * t * m2)
    quadratic = pref * (m0 + k - me * t * m2)
    return linear, quadratic


@dataclass(frozen=True)
class VectorMediatorModel(Model):
    """Z′ with coupling g times the charges of a U(1)′ model."""

    charges: VectorCharges = vector_charges("universal")

    def build_static(
        self, experiment: Experiment, quenching: str, kinds: tuple[str, ...]
    ) -> StaticTemplates:
        """SM row, empty g² and g⁴ rows, and (q² + M²)^(−1), ^(−2) mass terms per channel."""
        c = self.charges
        inv_gf = 1.0 / (math.sqrt(2.0) * units.fermi_constant_per_MeV2)
        terms = []
        for ch in channels_of(experiment, quenching, kinds):
            t = ch.recoil_energy_MeV
            qnu = np.array([c.neutrino(f) for f in ch.flavours])
            if ch.kind == "nucleus":
                nuc = ch.particle
                x = c.nuclear(nuc.Z, nuc.N)
                if x == 0.0 or not qnu.any():
                    continue
                sin2w = ch.meta.get("sin2_theta_w", units.sin2_theta_w)
                qv = weak_charge(nuc.Z, nuc.N, sin2w)
                unit = cevns_sm_rate(ch, weak_charge_value=1.0)
                lin = 2.0 * qv * x * (qnu @ unit)
                quad = x**2 * (qnu**2 @ unit)
                q2 = 2.0 * nuc.mass_MeV * t
            else:
                if c.electron == 0.0 or not qnu.any():
                    continue
                pieces = [_electron_pieces(ch, i) for i in range(len(ch.flavours))]
                lin = sum(qnu[i] * c.electron * p[0] for i, p in enumerate(pieces))
                quad = sum((qnu[i] * c.electron) ** 2 * p[1] for i, p in enumerate(pieces))
                q2 = 2.0 * units.electron_mass_MeV * t
            terms.append(MassTerm(ch.name, 1, 1, q2, lin * inv_gf))
            terms.append(MassTerm(ch.name, 2, 2, q2, quad * inv_gf**2))
        sm = sm_counts(experiment, quenching, kinds)
        zero = np.zeros_like(sm)
        return StaticTemplates(fixed=np.array([sm, zero, zero]), mass_terms=tuple(terms))

    def coefficients(
        self, values: dict[str, NDArray], options: dict[str, str], static: StaticTemplates
    ) -> NDArray:
        """[1, s g², g⁴]."""
        sign = INTERFERENCE_SIGNS[options["interference"]]
        g = np.broadcast_to(values["coupling"], np.broadcast_shapes(
            values["coupling"].shape, values["mass_MeV"].shape))
        g2 = g**2
        return np.stack([np.ones(g.shape), sign * g2, g2**2], axis=-1)


def _vector_model(charge_name: str, model_name: str, description: str) -> VectorMediatorModel:
    charges = vector_charges(charge_name)
    return VectorMediatorModel(
        name=model_name,
        description=description,
        parameters=(
            Parameter("coupling", "1", "g: Z′ gauge coupling (times the U(1)′ charges)",
                      minimum=0.0),
            Parameter("mass_MeV", "MeV", "Z′ mass M", minimum=0.0),
        ),
        source=f"charges: {charges.source}; cross sections: cross_sections/bsm_vector.py",
        options=(INTERFERENCE_OPTION,),
        mass_parameter="mass_MeV",
        charges=charges,
    )


VECTOR_MODELS = tuple(
    _vector_model(*args)
    for args in (
        ("universal", "vector_universal", "Z′ with charge 1 for ν, quarks and electrons"),
        ("b_minus_l", "vector_b_minus_l", "Z′ of gauged B − L"),
        ("leptonic", "vector_leptonic", "Z′ coupled to leptons only (electron recoils)"),
        ("l_mu_minus_l_e", "vector_l_mu_minus_l_e", "Z′ of gauged L_μ − L_e"),
        ("l_e_minus_l_tau", "vector_l_e_minus_l_tau", "Z′ of gauged L_e − L_τ"),
        ("l_mu_minus_l_tau", "vector_l_mu_minus_l_tau",
         "Z′ of gauged L_μ − L_τ (quarks, electrons via loop-induced kinetic mixing)"),
    )
)
