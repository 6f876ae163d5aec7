"""Plot Dresden-II Rx-ON: data, fitted background components and the SM CEvNS per quenching.

Top: released Rx-ON rates (counts per 10 eVee per day, arXiv:2202.09672) with the background
components (flat + exponential, ⁷¹Ge L1/L2 peaks, M peak) profiled with the SM CEvNS + ν–e
signal of the default quenching (Fef), and the SM CEvNS spectrum of each quenching choice
(fef, ybe, lindhard) on top of the background fitted with that signal. Bottom: residuals
(data − background fitted with the signal) / σ, with the SM signal of each choice in σ units.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

QUENCHING_COLOURS = {"fef": "tab:red", "ybe": "tab:blue", "lindhard": "tab:green"}


COMPONENT_LABELS = {"continuum": "flat + exponential", "ge71_l_peaks": "$^{71}$Ge L1 + L2",
                    "ge71_m_peak": "$^{71}$Ge M"}


def background_components(theta: np.ndarray, energy_keV: np.ndarray) -> dict[str, np.ndarray]:
    """The background model (``dresden_ii_background.background_components``) by plot label
    (rates per 10 eVee per day)."""
    from nubound.physics.experiments.dresden_ii_background import background_components as parts

    return {COMPONENT_LABELS[k]: v for k, v in parts(theta, energy_keV).items()}


def plot_dresden_ii(output: str | Path) -> Path:
    """Write the figure as PNG to ``output`` and return its path."""
    import matplotlib.pyplot as plt

    fig = dresden_ii_figure()
    out = Path(output)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def dresden_ii_figure():
    """Build the two-panel figure (matplotlib Figure, Agg backend); see the module docstring."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nubound.physics.experiments import get_experiment

    exp = get_experiment("dresden_ii")
    e = exp.energy_keV
    days = exp.exposure_days
    rate, sigma = exp.table[:, 1], exp.table[:, 2]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 7.5), sharex=True, height_ratios=(3, 1.4), constrained_layout=True
    )
    top.errorbar(e, rate, yerr=sigma, fmt="o", ms=2.5, color="k", lw=0.8, label="Rx-ON data")
    fits = {}
    for q in exp.quenching_choices:
        counts = exp.sm_counts(q)
        signal = counts["Ge"] + counts["electron"]
        fits[q] = (counts["Ge"] / days, signal / days, exp.profile(signal))
    _, _, fit_ref = fits[exp.default_quenching]
    parts = background_components(fit_ref.theta, e)
    for (name, part), style in zip(parts.items(), (":", "--", "-."), strict=True):
        top.plot(e, part, style, color="0.4", lw=1.2,
                 label=f"{name} (fit, {exp.default_quenching})")
    for q, (cevns, signal, fit) in fits.items():
        bkg = sum(background_components(fit.theta, e).values())
        colour = QUENCHING_COLOURS[q]
        top.plot(e, bkg + signal, color=colour, lw=1.4,
                 label=f"background + SM ({q}), χ² = {float(fit.chi2):.1f}")
        top.plot(e, cevns, color=colour, lw=1.0, ls="--", label=f"SM CEvNS ({q})")
        bottom.plot(e, (rate - bkg) / sigma, drawstyle="steps-mid", color=colour, lw=0.9,
                    label=f"(data − bkg fit) / σ, {q}")
        bottom.plot(e, cevns / sigma, color=colour, lw=1.4, ls="--")
    bottom.axhline(0.0, color="k", lw=0.6)
    top.set_yscale("log")
    top.set_ylim(0.3, 300)
    top.set_ylabel("counts / (10 eVee · day)")
    top.set_title(f"Dresden-II Rx-ON ({days} d), profiled background and SM CEvNS")
    top.legend(fontsize=7, ncol=2, loc="lower center")
    bottom.set_xlabel("ionisation energy $E_{ee}$ [keVee]")
    bottom.set_ylabel("residual / σ")
    bottom.set_xlim(0.2, 1.5)
    bottom.legend(fontsize=7, loc="upper right")
    return fig


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python -m nubound.jobs.plot_dresden_ii out.png``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="PNG file to write")
    args = parser.parse_args(argv)
    print(plot_dresden_ii(args.output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
