"""The warm-up compiles the very specialisations that the experiments' χ² then use."""

import numpy as np

from nubound.physics.compiled import compile_kernels
from nubound.physics.experiments import get_experiment
from nubound.physics.experiments.dresden_ii import kernel as dresden_ii_kernel
from nubound.physics.statistics import profile_kernel


def _signatures():
    return {
        "poisson": list(profile_kernel.newton_block.signatures),
        "dresden_fit": list(dresden_ii_kernel.fit_block.signatures),
        "dresden_profile": list(dresden_ii_kernel.profile_block.signatures),
    }


def test_warm_up_covers_every_production_call():
    compile_kernels()
    before = _signatures()
    assert all(len(v) == 1 for v in before.values())
    for name in ("coherent_csi", "coherent_ar"):
        exp = get_experiment(name)
        sm = exp.sm_signal()
        exp.chi2(np.stack([sm, 2.0 * sm]))
        exp.profile_background_only(sm) if name == "coherent_csi" else None
    dresden = get_experiment("dresden_ii")
    dresden.chi2(dresden.sm_counts("fef")["Ge"][None, None])
    assert _signatures() == before  # nothing compiled again for another type
