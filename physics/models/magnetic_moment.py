"""Neutrino magnetic moment on nuclei and electrons (docs/physics.md#magnetic-moment), no
interference.

Rate densities from the flux moments (Vogel & Engel, PRD 39 (1989) 3378, Eq. (2)):
nucleus  (π α²/m_e²) μ² Z² F²(q) [M_0/T − M_1];  electron (π α²/m_e²) μ² [M_0/T − M_1]
(Z_eff is in the electron channel's response). μ_e acts on ν_e/ν̄_e, μ_μ on ν_μ/ν̄_μ
(effective moments per flavour). Counts = SM + μ_e² C_e + μ_μ² C_μ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nubound.physics.cross_sections.bsm_magnetic_moment import magnetic_moment_prefactor_cm2
from nubound.physics.cross_sections.bsm_nsi import flavour_lepton
from nubound.physics.experiments.base import Channel, Experiment
from nubound.physics.models.base import (
    Model,
    Parameter,
    StaticTemplates,
    channels_of,
    fold,
    sm_counts,
)
from nubound.physics.rates import nuclear_form_factor_sq


def magnetic_moment_unit_rate(channel: Channel) -> NDArray:
    """Rate density per target per MeV for μ_ν = 1 μ_B, per flavour: (n_flav, nT)."""
    t = channel.recoil_energy_MeV
    m = channel.flux_moments
    rate = magnetic_moment_prefactor_cm2() * (m[:, 0] / t - m[:, 1])
    if channel.kind == "nucleus":
        rate = rate * channel.particle.Z**2 * nuclear_form_factor_sq(channel)[None, :]
    return rate


@dataclass(frozen=True)
class MagneticMomentModel(Model):
    """Effective magnetic moments μ_e (ν_e, ν̄_e) and μ_μ (ν_μ, ν̄_μ) in Bohr magnetons."""

    def build_static(
        self, experiment: Experiment, quenching: str, kinds: tuple[str, ...]
    ) -> StaticTemplates:
        """[SM, C_e, C_μ] over nucleus and electron channels."""
        rates: dict[str, dict[str, NDArray]] = {"e": {}, "mu": {}}
        for ch in channels_of(experiment, quenching, kinds):
            unit = magnetic_moment_unit_rate(ch)
            for i, flav in enumerate(ch.flavours):
                per = rates[flavour_lepton(flav)]
                per[ch.name] = per.get(ch.name, 0.0) + unit[i]
        rows = [sm_counts(experiment, quenching, kinds)]
        rows += [fold(experiment, quenching, rates[a], ()) for a in ("e", "mu")]
        return StaticTemplates(fixed=np.array(rows))

    def coefficients(
        self, values: dict[str, NDArray], options: dict[str, str], static: StaticTemplates
    ) -> NDArray:
        """[1, μ_e², μ_μ²]."""
        mu_e, mu_mu = np.broadcast_arrays(values["mu_e"], values["mu_mu"])
        return np.stack([np.ones(mu_e.shape), mu_e**2, mu_mu**2], axis=-1)


MAGNETIC_MOMENT = MagneticMomentModel(
    name="magnetic_moment",
    description="effective neutrino magnetic moments (nuclei and electrons, no interference)",
    parameters=(
        Parameter("mu_e", "mu_B", "effective magnetic moment of nu_e / nu_e-bar", minimum=0.0),
        Parameter("mu_mu", "mu_B", "effective magnetic moment of nu_mu / nu_mu-bar", minimum=0.0),
    ),
    source="Vogel & Engel, PRD 39 (1989) 3378, Eq. (2); docs/physics.md#magnetic-moment",
)
