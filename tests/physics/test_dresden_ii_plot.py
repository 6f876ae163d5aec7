"""Dresden-II plot (jobs/plot_dresden_ii.py): a non-trivial PNG with the expected lines."""

import matplotlib
import numpy as np

matplotlib.use("Agg")

from nubound.jobs.plot_dresden_ii import dresden_ii_figure, plot_dresden_ii  # noqa: E402


def test_png_written(tmp_path):
    out = plot_dresden_ii(tmp_path / "dresden_ii.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 40_000  # a real figure, not an empty canvas


def test_figure_has_data_fit_and_signals():
    import matplotlib.pyplot as plt

    fig = dresden_ii_figure()
    top, bottom = fig.axes
    labels = [line.get_label() for line in top.get_lines()]
    for q in ("fef", "ybe", "lindhard"):
        assert f"SM CEvNS ({q})" in labels
        assert any(lab.startswith(f"background + SM ({q})") for lab in labels)
    assert any("L1" in lab for lab in labels) and any("flat" in lab for lab in labels)
    # the Fef signal lies above YBe, which lies above Lindhard, at the first bin
    first = {lab: line.get_ydata()[0] for lab, line in zip(labels, top.get_lines(), strict=True)}
    assert first["SM CEvNS (fef)"] > first["SM CEvNS (ybe)"] > first["SM CEvNS (lindhard)"]
    residuals = [line.get_ydata() for line in bottom.get_lines() if "σ" in line.get_label()]
    assert len(residuals) == 3 and all(np.all(np.isfinite(r)) for r in residuals)
    plt.close(fig)
