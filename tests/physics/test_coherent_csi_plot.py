"""The COHERENT CsI projection plot writes a real, non-trivial PNG."""

import matplotlib.image as mpimg
import numpy as np

from nubound.jobs.plot_coherent_csi import plot_coherent_csi


def test_plot_writes_a_nontrivial_png(tmp_path):
    path = plot_coherent_csi(tmp_path / "csi.png")
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(raw) > 20_000
    image = mpimg.imread(path)
    assert image.shape[0] > 500 and image.shape[1] > 800
    # many distinct colours: filled histograms, data points and text, not a blank canvas
    assert np.unique(image.reshape(-1, image.shape[-1]), axis=0).shape[0] > 50
