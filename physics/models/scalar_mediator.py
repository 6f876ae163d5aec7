"""Light scalar mediator φ on nuclei and electrons (docs/physics.md#scalar-mediator), no
interference.

From the cross sections of ``cross_sections.bsm_scalar`` (Cerdeño et al., JHEP 05 (2016) 118,
Eqs. (2.12), (2.15)), the rate densities are g⁴ (q² + M_φ²)^(−2) times
nucleus  Q_S² M² T F²(q) M_2(T) / (4π);  electron m_e² T M_2(T) / (4π),
so counts = SM + g⁴ C(M_φ).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nubound.physics import units
from nubound.physics.cross_sections.bsm_scalar import scalar_charge
from nubound.physics.experiments.base import Experiment
from nubound.physics.models.base import (
    MassTerm,
    Model,
    Parameter,
    StaticTemplates,
    channels_of,
    sm_counts,
)
from nubound.physics.rates import nuclear_form_factor_sq


@dataclass(frozen=True)
class ScalarMediatorModel(Model):
    """Scalar φ with coupling g to ν and (optionally) quarks, and to electrons."""

    couples_to_quarks: bool = True

    def build_static(
        self, experiment: Experiment, quenching: str, kinds: tuple[str, ...]
    ) -> StaticTemplates:
        """SM row, an empty g⁴ row, and one (q² + M²)^(−2) mass term per channel."""
        terms = []
        for ch in channels_of(experiment, quenching, kinds):
            t = ch.recoil_energy_MeV
            m2_moment = ch.flux_moments[:, 2].sum(axis=0)
            if ch.kind == "nucleus":
                if not self.couples_to_quarks:
                    continue
                nuc = ch.particle
                qs = scalar_charge(nuc.Z, nuc.N)
                rate = (
                    qs**2 * nuc.mass_MeV**2 * t * nuclear_form_factor_sq(ch) * m2_moment
                    / (4.0 * np.pi)
                )
                q2 = 2.0 * nuc.mass_MeV * t
            else:
                me = units.electron_mass_MeV
                rate = me**2 * t * m2_moment / (4.0 * np.pi)
                q2 = 2.0 * me * t
            terms.append(MassTerm(ch.name, 1, 2, q2, units.per_MeV2_to_cm2(rate)))
        sm = sm_counts(experiment, quenching, kinds)
        return StaticTemplates(fixed=np.array([sm, np.zeros_like(sm)]), mass_terms=tuple(terms))

    def coefficients(
        self, values: dict[str, NDArray], options: dict[str, str], static: StaticTemplates
    ) -> NDArray:
        """[1, g⁴]."""
        g = np.broadcast_to(values["coupling"], np.broadcast_shapes(
            values["coupling"].shape, values["mass_MeV"].shape))
        return np.stack([np.ones(g.shape), g**4], axis=-1)


def _scalar_parameters(target: str) -> tuple[Parameter, ...]:
    return (
        Parameter("coupling", "1", f"g_φ: coupling to neutrinos and {target}", minimum=0.0),
        Parameter("mass_MeV", "MeV", "scalar mediator mass M_φ", minimum=0.0),
    )


SCALAR_UNIVERSAL = ScalarMediatorModel(
    name="scalar_universal",
    description="light scalar with one coupling to neutrinos, quarks and electrons",
    parameters=_scalar_parameters("quarks and electrons"),
    source=("Cerdeño et al., JHEP 05 (2016) 118, Eqs. (2.12), (2.15); "
            "docs/physics.md#scalar-mediator"),
    mass_parameter="mass_MeV",
)
SCALAR_LEPTONIC = ScalarMediatorModel(
    name="scalar_leptonic",
    description="light scalar coupled to neutrinos and electrons only (electron recoils)",
    parameters=_scalar_parameters("electrons"),
    source="Cerdeño et al., JHEP 05 (2016) 118, Eq. (2.15); docs/physics.md#scalar-mediator",
    mass_parameter="mass_MeV",
    couples_to_quarks=False,
)
