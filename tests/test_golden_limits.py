"""Golden values: a handful of limits per model, pinned to 0.5 %, so that a physics regression
cannot pass silently.

Each model is scanned on the coupling axis of its ``configs/paper_<model>.toml`` at three of
that config's grid masses (0.01, 10 and 10⁴ MeV), so every pinned number is also a cell of the
per-mass tables of docs/validation.md (there to three digits; here to six, as computed at the
commit that added this file). A change of physics, data or statistics that moves one of them
by more than 0.5 % must come with a new docs/validation.md (``make validation``) and new
values here, with the reason in the commit message.
"""

import numpy as np
import pytest

from nubound.jobs.limits_cmd import open_store
from nubound.scanner.serial import run_serial
from nubound.scanner.spec import parse_spec
from nubound.storage import limits as lim

ALL = '["dresden_ii", "coherent_csi", "coherent_ar"]'
LEPTONIC = '["dresden_ii", "coherent_csi"]'


def spec(model: str, axes: str, experiments: str = ALL, parameters: str = "") -> str:
    """A scan spec of the observed data with every Dresden-II quenching choice."""
    return (f'spec_version = 1\nexperiments = {experiments}\nstore = "unused.zarr"\n'
            f'confidence_level = 0.9\ndata = "observed"\n[model]\nname = "{model}"\n'
            f"{parameters}\n{axes}\n[quenching]\ndresden_ii = ['fef', 'ybe', 'lindhard']\n")


def log_axis(name: str, unit: str, start: str, stop: str, n: int) -> str:
    return (f'[[axes]]\nname = "{name}"\nunit = "{unit}"\nscale = "log"\n'
            f"start = {start}\nstop = {stop}\nn = {n}\n")


#: model → (experiments, coupling axis start, n) as in configs/paper_<model>.toml
MEDIATORS = {
    "vector_universal": (ALL, "1e-7", 160),
    "vector_b_minus_l": (ALL, "1e-7", 161),
    "scalar_universal": (ALL, "1e-8", 161),
    "vector_leptonic": (LEPTONIC, "1e-8", 161),
    "scalar_leptonic": (LEPTONIC, "1e-8", 161),
}
MASSES = '[[axes]]\nname = "mass_MeV"\nunit = "MeV"\nvalues = [0.01, 10.0, 10000.0]\n'
MAGNETIC_MOMENT = spec("magnetic_moment", log_axis("mu_e", "mu_B", "1e-12", "3e-8", 241),
                       parameters="parameters = { mu_mu = 0.0 }")
# the eps_u_ee line of configs/paper_nsi.toml at eps_d_ee = 0
NSI = spec("nsi", '[[axes]]\nname = "eps_u_ee"\nunit = "1"\nscale = "lin"\nstart = -1.0\n'
           'stop = 1.0\nn = 101\n[[axes]]\nname = "eps_d_ee"\nunit = "1"\nvalues = [0.0]\n')


def mediator_spec(model: str) -> str:
    """The TOML of one mediator model's small scan."""
    experiments, start, n = MEDIATORS[model]
    return spec(model, MASSES + log_axis("coupling", "1", start, "1e-2", n), experiments)


RTOL = 5e-3
DATA = {"dresden_ii_fef": (["dresden_ii"], "fef"), "coherent_csi": (["coherent_csi"], "profile"),
        "coherent_ar": (["coherent_ar"], "profile"), "all_profiled": (None, "profile")}

#: per-mass upper limits on the coupling at 0.01, 10, 10⁴ MeV (None: above the grid)
MEDIATOR_LIMITS = {
    "vector_universal": {
        "dresden_ii_fef": (1.58158e-06, 2.02857e-05, 7.59797e-03),
        "coherent_csi": (3.99225e-06, 2.32202e-05, 5.14068e-03),
        "coherent_ar": (2.84233e-05, 2.91668e-05, 5.82247e-03),
        "all_profiled": (1.81178e-06, 9.57307e-06, 4.59353e-03),
    },
    "vector_b_minus_l": {
        "dresden_ii_fef": (1.50993e-06, 1.16837e-05, 9.74235e-03),
        "coherent_csi": (3.98200e-06, 4.12331e-05, 6.84904e-03),
        "coherent_ar": (3.93614e-05, 4.16641e-05, None),
        "all_profiled": (1.78048e-06, 1.54118e-05, 6.43541e-03),
    },
    "scalar_universal": {
        "dresden_ii_fef": (1.71579e-06, 4.71123e-06, 3.77109e-03),
        "coherent_csi": (1.61713e-05, 1.64521e-05, 2.67849e-03),
        "coherent_ar": (2.22190e-05, 2.34445e-05, 5.53693e-03),
        "all_profiled": (1.78792e-06, 7.81169e-06, 2.76227e-03),
    },
    "vector_leptonic": {
        "dresden_ii_fef": (1.53341e-06, 2.66752e-04, None),
        "coherent_csi": (3.98453e-06, 7.52117e-04, None),
        "all_profiled": (1.77967e-06, 2.65793e-04, None),
    },
    "scalar_leptonic": {
        "dresden_ii_fef": (5.35192e-06, 1.00703e-03, None),
        "coherent_csi": (1.30778e-04, None, None),
        "all_profiled": (5.35192e-06, 1.00703e-03, None),
    },
}

#: upper end of the allowed μ_νe interval (μ_B), from μ_e = 10⁻¹² (the grid's edge)
MAGNETIC_MOMENT_UPPER = {"dresden_ii_fef": 2.23107e-10, "coherent_csi": 4.25283e-09,
                         "coherent_ar": 5.03667e-09, "all_profiled": 2.50535e-10}

#: allowed intervals of ε^u_ee at ε^d_ee = 0 (the SM one and the sign-flipped weak charge)
NSI_INTERVALS = {
    "dresden_ii_fef": ((-0.0397734, 0.0736767), (0.300000, 0.412864)),
    "coherent_csi": ((-0.0834327, 0.0707225), (0.328956, 0.482923)),
    "coherent_ar": ((-0.169563, 0.534673),),
    "all_profiled": ((-0.0570125, 0.0426704), (0.341858, 0.443699)),
}


def scan(tmp_path_factory, name: str, text: str):
    path = str(tmp_path_factory.getbasetemp() / f"golden_{name}.zarr")
    run_serial(parse_spec(text), path)
    return open_store(path)


@pytest.mark.parametrize("model", sorted(MEDIATOR_LIMITS))
def test_mediator_limits(tmp_path_factory, model):
    ds = scan(tmp_path_factory, model, mediator_spec(model))
    for data, expected in MEDIATOR_LIMITS[model].items():
        experiments, quenching = DATA[data]
        res = lim.coupling_limits(ds, experiments=experiments, quenching=quenching,
                                  reference="per_mass")
        got = res.coupling_upper.values
        for g, e, status in zip(got, expected, res.status.values, strict=True):
            if e is None:
                assert status == "above_grid", (model, data)
            else:
                assert g == pytest.approx(e, rel=RTOL), (model, data)


def test_magnetic_moment_limits(tmp_path_factory):
    ds = scan(tmp_path_factory, "magnetic_moment", MAGNETIC_MOMENT)
    for data, expected in MAGNETIC_MOMENT_UPPER.items():
        experiments, quenching = DATA[data]
        res = lim.parameter_intervals(ds, experiments=experiments, quenching=quenching)
        assert int(res.n_intervals[0]) == 1 and bool(res.lower_at_edge[0, 0])
        assert float(res.upper[0, 0]) == pytest.approx(expected, rel=RTOL), data


def test_nsi_intervals(tmp_path_factory):
    ds = scan(tmp_path_factory, "nsi", NSI)
    for data, expected in NSI_INTERVALS.items():
        experiments, quenching = DATA[data]
        res = lim.parameter_intervals(ds, parameters=["eps_u_ee"], experiments=experiments,
                                      quenching=quenching)
        n = int(res.n_intervals[0])
        got = np.stack([res.lower.values[0, :n], res.upper.values[0, :n]], axis=1)
        # ε crosses zero: 0.5 % of the interval's width, not of the end itself
        width = np.array([hi - lo for lo, hi in expected])[:, None]
        assert got.shape == (len(expected), 2), data
        assert np.all(np.abs(got - np.array(expected)) <= RTOL * width), (data, got)
