"""Vector NSI on nuclei (CEvNS only; electron channels stay SM), docs/physics.md#nsi.

Q_V,α² → [Q_V + δ_αα]² + Σ_{β≠α} δ_αβ²,  δ_αβ = Z (2ε^u_αβ + ε^d_αβ) + N (ε^u_αβ + 2ε^d_αβ)
(Barranco, Miranda, Rashba, JHEP 12 (2005) 021, Eq. (2)); ν̄ see the same ε (vector current).
Counts = SM + Σ_(channel, α) [δ_αα (2 Q_V + δ_αα) + Σ_β δ_αβ²] · C_(channel, α), where
C_(channel, α) folds the unit-charge CEvNS rate of the flavours with lepton α: exactly the SM
when every ε vanishes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nubound.physics import units
from nubound.physics.cross_sections.bsm_nsi import (
    LEPTONS,
    flavour_lepton,
    nsi_charge_shift,
    nsi_epsilon,
)
from nubound.physics.cross_sections.cevns import weak_charge
from nubound.physics.experiments.base import Experiment
from nubound.physics.models.base import (
    Model,
    Parameter,
    StaticTemplates,
    channels_of,
    fold,
    sm_counts,
)
from nubound.physics.rates import cevns_sm_rate

NSI_PAIRS = ("ee", "mumu", "emu", "etau", "mutau")


def _nsi_parameters() -> tuple[Parameter, ...]:
    return tuple(
        Parameter(f"eps_{q}_{pair}", "1", f"vector NSI ε^{q}_{pair} (units of G_F)")
        for pair in NSI_PAIRS
        for q in ("u", "d")
    )


@dataclass(frozen=True)
class NSIModel(Model):
    """Vector NSI with u and d quarks, flavours e and μ (τ only off-diagonal)."""

    def build_static(
        self, experiment: Experiment, quenching: str, kinds: tuple[str, ...]
    ) -> StaticTemplates:
        """SM counts plus one unit-charge CEvNS template per (nucleus channel, lepton)."""
        rows = [sm_counts(experiment, quenching, kinds)]
        meta = []
        for ch in channels_of(experiment, quenching, kinds):
            if ch.kind != "nucleus":
                continue
            unit = cevns_sm_rate(ch, weak_charge_value=1.0)  # (n_flav, nT)
            sin2w = ch.meta.get("sin2_theta_w", units.sin2_theta_w)
            qv = weak_charge(ch.particle.Z, ch.particle.N, sin2w)
            for lepton in ("e", "mu"):
                sel = [i for i, f in enumerate(ch.flavours) if flavour_lepton(f) == lepton]
                if not sel:
                    continue
                rows.append(fold(experiment, quenching, {ch.name: unit[sel].sum(axis=0)}, ()))
                meta.append((ch.particle.Z, ch.particle.N, qv, lepton))
        return StaticTemplates(fixed=np.array(rows), meta=tuple(meta))

    def coefficients(
        self, values: dict[str, NDArray], options: dict[str, str], static: StaticTemplates
    ) -> NDArray:
        """[1, δ_αα(2Q_V + δ_αα) + Σ_β δ_αβ² for each (channel, α)]."""
        shape = np.broadcast_shapes(*(v.shape for v in values.values()))
        out = [np.ones(shape)]
        for z, n, qv, a in static.meta:
            diag = nsi_charge_shift(
                z, n, nsi_epsilon(values, "u", a, a), nsi_epsilon(values, "d", a, a)
            )
            total = diag * (2.0 * qv + diag)
            for b in LEPTONS:
                if b != a:
                    total = total + nsi_charge_shift(
                        z, n, nsi_epsilon(values, "u", a, b), nsi_epsilon(values, "d", a, b)
                    ) ** 2
            out.append(np.broadcast_to(total, shape))
        return np.stack(out, axis=-1)


NSI = NSIModel(
    name="nsi",
    description="vector neutral-current NSI with u, d quarks (CEvNS only)",
    parameters=_nsi_parameters(),
    source="Barranco, Miranda, Rashba, JHEP 12 (2005) 021, Eq. (2); docs/physics.md#nsi",
)
