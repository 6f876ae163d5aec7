"""Plot COHERENT CsI[Na] 2021: data, backgrounds and the SM CEvNS prediction.

Two projections (photoelectrons, arrival time) of the 9 × 11 analysis bins, as counts per unit
width (the bins are unequal). Top row: beam-coincident data over the stacked steady-state (from
the anti-coincidence window), BRN and NIN templates at their prior normalisations and the
computed SM CEvNS; the dashed line is the profiled best fit (free signal strength). Bottom row:
data and best fit minus the fitted steady state, where the CEvNS excess is visible
(cf. Fig. 2 of arXiv:2110.07730).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def plot_coherent_csi(output: str | Path, *, quenching: str | None = None) -> Path:
    """Write the projection figure as PNG to ``output`` and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nubound.physics.experiments import get_experiment
    from nubound.physics.experiments.coherent_csi import response as resp

    csi = get_experiment("coherent_csi")
    q = csi.check_quenching(quenching)
    shape = (csi.n_pe, csi.n_time)
    sm = csi.sm_signal(q)
    parts = {
        "steady state (AC)": csi.background_components["steady_state"].reshape(shape),
        "BRN": csi.background_components["brn"].reshape(shape),
        "NIN": csi.background_components["nin"].reshape(shape),
        f"SM CEvNS ({q})": sm.reshape(shape),
    }
    fit = csi.best_fit_components(sm)
    strength = 1.0 + fit["theta"]["signal"]
    best = sum(fit[k] for k in ("signal", "steady_state", "brn", "nin")).reshape(shape)
    best_ss = fit["steady_state"].reshape(shape)
    data = csi.observed.reshape(shape)
    axes_info = [
        ("reconstructed energy [PE]", np.asarray(resp.PE_EDGES), 1, "counts / PE"),
        ("arrival time t_rec [µs]", np.asarray(resp.TIME_EDGES_us), 0, "counts / µs"),
    ]
    colours = ["0.75", "tab:orange", "tab:olive", "tab:blue"]
    fig, axs = plt.subplots(2, 2, figsize=(11, 7.5), constrained_layout=True)
    for col, (label, edges, summed, unit) in enumerate(axes_info):
        width = np.diff(edges)
        centres = 0.5 * (edges[:-1] + edges[1:])
        n = data.sum(axis=summed)
        proj = {k: v.sum(axis=summed) / width for k, v in parts.items()}
        for row, skip_ss in enumerate((False, True)):
            ax = axs[row, col]
            bottom = np.zeros_like(centres)
            for (name, density), colour in zip(proj.items(), colours, strict=True):
                if skip_ss and name.startswith("steady"):
                    continue
                ax.stairs(bottom + density, edges, baseline=bottom, fill=True, color=colour,
                          alpha=0.85, label=name)
                bottom = bottom + density
            ss_sub = best_ss.sum(axis=summed) / width if skip_ss else 0.0
            shown = n / width - ss_sub
            ax.stairs(best.sum(axis=summed) / width - ss_sub, edges, color="k", ls="--",
                      label=f"best fit (μ = {strength:.2f})")
            ax.errorbar(centres, shown, yerr=np.sqrt(n) / width, fmt="ko", ms=3, label="data (C)")
            ax.set_xlabel(label)
            ax.set_ylabel(unit if not skip_ss else f"{unit} − fitted steady state")
            if summed == 0:  # square-root axis: the 0.125-µs bins of the first µs stay visible
                ax.set_xscale("function", functions=(np.sqrt, np.square))
                ax.set_xticks([0, 0.25, 0.5, 1, 2, 4, 6])
                ax.set_xlim(0, 6)
            ax.axhline(0.0, color="0.4", lw=0.5)
    axs[0, 0].legend(fontsize=8)
    fig.suptitle(
        f"COHERENT CsI[Na] 2021: {int(data.sum())} events (PE < 60, t < 6 µs); "
        f"SM CEvNS {sm.sum():.0f}, best fit {strength * sm.sum():.0f}"
    )
    path = Path(output)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m nubound.jobs.plot_coherent_csi OUT.png [--quenching Q]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--quenching", default=None)
    args = parser.parse_args(argv)
    print(plot_coherent_csi(args.output, quenching=args.quenching))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
