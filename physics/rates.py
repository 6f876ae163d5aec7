"""Standard-Model rate densities on an experiment's channels, from the flux moments.

For a channel with moments M_k(T) (see ``experiments.base``), per target particle per MeV:

- CEvNS (docs/physics.md#cevns): (G_F² M/π) Q_V² F²(q) [M_0 − T M_1 − (M T/2) M_2];
- ν–e (docs/physics.md#neutrino-electron-scattering), per electron (Z_eff is in the response):
  (G_F² m_e/2π) [(g_V+g_A)² M_0 + (g_V−g_A)² (M_0 − 2T M_1 + T² M_2) − (g_V²−g_A²) m_e T M_2].

The moment integrals start at Eν_min(T), where the kinematic factors vanish, so no clipping is
needed. Returned arrays have shape (n_flavours, nT).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from nubound.physics import units
from nubound.physics.cross_sections.cevns import weak_charge
from nubound.physics.cross_sections.nu_e import electron_couplings
from nubound.physics.experiments.base import Channel
from nubound.physics.form_factors import recoil_form_factor


def nuclear_form_factor_sq(channel: Channel) -> NDArray:
    """F²(q(T)) on the channel's grid, with the form factor named in ``channel.meta``."""
    nuc = channel.particle
    ff = recoil_form_factor(
        channel.meta.get("form_factor", "helm"), channel.recoil_energy_MeV, nuc.mass_MeV, nuc.A,
        channel.meta.get("form_factor_options"),
    )
    return ff**2


def cevns_kinematic_moment(channel: Channel, *, keep_recoil_term: bool = True) -> NDArray:
    """∫ dΦ (1 − T/Eν − M T/(2Eν²)) per flavour: (n_flavours, nT), fluence units."""
    t = channel.recoil_energy_MeV
    m = channel.flux_moments
    out = m[:, 0] - 0.5 * channel.particle.mass_MeV * t * m[:, 2]
    if keep_recoil_term:
        out = out - t * m[:, 1]
    return out


def cevns_sm_rate(
    channel: Channel, *, weak_charge_value: float | None = None, keep_recoil_term: bool = True
) -> NDArray:
    """SM CEvNS rate density per nucleus per MeV, (n_flavours, nT)."""
    nuc = channel.particle
    sin2w = channel.meta.get("sin2_theta_w", units.sin2_theta_w)
    qv = weak_charge(nuc.Z, nuc.N, sin2w) if weak_charge_value is None else weak_charge_value
    pref = units.per_MeV2_to_cm2(units.fermi_constant_per_MeV2**2 * nuc.mass_MeV / np.pi)
    kin = cevns_kinematic_moment(channel, keep_recoil_term=keep_recoil_term)
    return pref * qv**2 * nuclear_form_factor_sq(channel)[None, :] * kin


def electron_sm_rate(channel: Channel) -> NDArray:
    """SM ν–e rate density per (effective) electron per MeV, (n_flavours, nT)."""
    sin2w = channel.meta.get("sin2_theta_w", units.sin2_theta_w)
    t = channel.recoil_energy_MeV
    me = units.electron_mass_MeV
    pref = units.per_MeV2_to_cm2(units.fermi_constant_per_MeV2**2 * me / (2.0 * np.pi))
    out = np.empty((len(channel.flavours), t.size))
    for i, flav in enumerate(channel.flavours):
        g_v, g_a = electron_couplings(flav, sin2w)
        m0, m1, m2 = channel.flux_moments[i]
        out[i] = pref * (
            (g_v + g_a) ** 2 * m0
            + (g_v - g_a) ** 2 * (m0 - 2.0 * t * m1 + t**2 * m2)
            - (g_v**2 - g_a**2) * me * t * m2
        )
    return out


def sm_rates(channels: tuple[Channel, ...]) -> dict[str, NDArray]:
    """SM rate densities for every channel, keyed by channel name."""
    return {
        ch.name: cevns_sm_rate(ch) if ch.kind == "nucleus" else electron_sm_rate(ch)
        for ch in channels
    }
