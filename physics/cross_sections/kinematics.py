"""Elastic two-body kinematics of a neutrino of energy Eν on a target of mass M at rest.

T_max = 2Eν²/(M + 2Eν) and its inverse Eν_min(T) = (T + sqrt(T² + 2MT))/2
(docs/physics.md#kinematics):
energy-momentum conservation with the target recoiling forward (massless neutrino).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def max_recoil_MeV(neutrino_energy_MeV: ArrayLike, target_mass_MeV: float) -> NDArray:
    """T_max(Eν) = 2Eν² / (M + 2Eν).

    Examples
    --------
    >>> t = max_recoil_MeV(30.0, 938.272)  # 30 MeV neutrino on a proton: 2Eν²/(M + 2Eν)
    >>> round(float(t), 4), round(float(min_neutrino_energy_MeV(t, 938.272)), 9)
    (1.8031, 30.0)
    """
    e = np.asarray(neutrino_energy_MeV, dtype=float)
    return 2.0 * e**2 / (target_mass_MeV + 2.0 * e)


def min_neutrino_energy_MeV(recoil_energy_MeV: ArrayLike, target_mass_MeV: float) -> NDArray:
    """Eν_min(T) = (T + sqrt(T² + 2MT)) / 2, the inverse of ``max_recoil_MeV``."""
    t = np.asarray(recoil_energy_MeV, dtype=float)
    return 0.5 * (t + np.sqrt(t**2 + 2.0 * target_mass_MeV * t))
