"""The COHERENT Ar projection plot (jobs/plot_coherent_ar.py) writes a non-trivial PNG."""

from __future__ import annotations

import numpy as np


def test_plot_writes_png(tmp_path):
    import matplotlib.image

    from nubound.jobs.plot_coherent_ar import plot_coherent_ar

    out = plot_coherent_ar(tmp_path / "coherent_ar.png", quenching="nominal")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 20_000
    pixels = matplotlib.image.imread(out)
    assert pixels.shape[0] > 500 and pixels.shape[1] > 1000
    # more than background: many distinct colours (bars, points, text)
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50
