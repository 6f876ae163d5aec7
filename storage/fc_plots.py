"""Wilks and Feldman–Cousins limits of one calibrated target in one figure
(``nubound plot --method fc``; docs/feldman-cousins.md).

- Mediator grids: the upper limit on the coupling per mass, Wilks (dashed) and FC (solid),
  the calibrated points as dots.
- One-parameter grids: Δχ², Wilks' threshold (dotted) and the critical values t_c(θ)
  (solid; dots at the calibrated points): the FC interval is where Δχ² ≤ t_c.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nubound.storage import limits as lim
from nubound.storage.calibration import critical_grid, target_key
from nubound.storage.contours import axis_scale


def plot_wilks_and_fc(ds, url: str, path: str | Path, *,
                      experiments: Sequence[str] | None = None,
                      quenching: lim.Quenching = lim.PROFILE, cl: float = 0.9) -> Path:
    """Draw both limits of the target (experiments, quenching) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(experiments) if experiments else lim.available_experiments(ds)
    chi2 = lim.combined_chi2(ds, names, quenching).compute()
    grid, info = critical_grid(url, target_key(names, quenching), chi2, cl)
    level = lim.threshold(cl, 1)
    axes = lim.model_axes(chi2)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
    masses = [a for a in axes if a.startswith("mass")]
    if masses:
        mass = masses[0]
        wilks = lim.coupling_limits(ds, experiments=names, quenching=quenching, cl=cl,
                                    reference="per_mass")
        fc = lim.coupling_limits(ds, experiments=names, quenching=quenching, cl=cl,
                                 reference="per_mass", critical=grid)
        coupling = wilks.attrs["coupling_name"]
        m = wilks[mass].values
        ax.plot(m, wilks.coupling_upper.values, "k--", lw=1.2, label=f"Wilks (Δχ² = {level:.2f})")
        ax.plot(m, fc.coupling_upper.values, "C3-", lw=1.8, label="Feldman–Cousins")
        pts = info["fc_calibrated_points"]
        ax.plot([p[mass] for p in pts], [p[coupling] for p in pts], ".", color="grey", ms=3,
                label=f"calibrated points ({info['fc_toys_per_point']} toys each)")
        for name, scale in ((mass, ax.set_xscale), (coupling, ax.set_yscale)):
            scale("log" if axis_scale(chi2[name]) == "log" else "linear")
        ax.set_xlabel(mass)
        ax.set_ylabel(f"{coupling} (upper limit)")
    else:
        param = axes[0]
        dchi2 = lim.delta_chi2(chi2)
        x = dchi2[param].values
        ax.plot(x, dchi2.values, "k-", lw=1.2, label="Δχ²")
        ax.axhline(level, color="grey", ls=":", label=f"Wilks {level:.2f}")
        ax.plot(x, grid.values, "C3-", lw=1.6, label="FC critical value t_c")
        pts = info["fc_calibrated_points"]
        ax.plot([p[param] for p in pts], [p["critical"] for p in pts], "C3.", ms=4)
        ax.set_ylim(0.0, 4.0 * level)
        if axis_scale(chi2[param]) == "log":
            ax.set_xscale("log")
        ax.set_xlabel(param)
        ax.set_ylabel("Δχ²")
    ax.set_title(f"{lim.model_name(ds.attrs) or 'model'}: {cl:.0%} CL, {'+'.join(names)}; "
                 f"{info['fc_points_calibrated']} points calibrated", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

