"""Checks of the nubound page shared by the dashboard and live-view tests: HTTP, the Bokeh
document as a Bokeh client receives it, and the pixels of a headless-Chromium screenshot."""

from __future__ import annotations

import io
import re
import urllib.request

import numpy as np

from nubound.jobs.dashboard.document import COMBINED_COLOUR, CURVE_COLOURS, DONE_PALETTE


def get(url: str, context=None) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30, context=context) as r:
        return r.status, r.read().decode()


def header_text(page_url: str) -> str:
    """The header Div of the page as a Bokeh client session receives the document."""
    import gc
    import warnings

    from bokeh.client import pull_session
    from bokeh.models import Div

    try:
        with pull_session(url=page_url) as session:
            divs = list(session.document.select({"type": Div}))
            return " ".join(re.sub(r"<[^>]+>", " ", divs[0].text).split())
    finally:
        # the closed session's socket goes to the garbage collector: collect it here, not in
        # whichever test the collector next runs in (ResourceWarning is an error there)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def blocks_done_in(text: str) -> tuple[int, int]:
    m = re.search(r"blocks done\s+(\d+) / (\d+)", text)
    assert m, text
    return int(m.group(1)), int(m.group(2))


def colour_mask(png: bytes, hex_colour: str, tol: int = 10) -> np.ndarray:
    """Pixels of the screenshot within ``tol`` of a colour."""
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return np.all(np.abs(image - rgb) <= tol, axis=-1)


def assert_page_drawn(png: bytes, *, min_columns: int = 60) -> None:
    """Not blank; each experiment's curve and the combination drawn over ``min_columns`` pixel
    columns (a legend swatch covers about 20); blocks done and blocks to do on the map."""
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert np.any(image < 240, axis=-1).mean() > 0.05  # not a blank page
    for colour in (CURVE_COLOURS[0], CURVE_COLOURS[1], COMBINED_COLOUR):  # fake_a, fake_b
        columns = int(colour_mask(png, colour).any(axis=0).sum())
        assert columns >= min_columns, f"curve {colour} covers {columns} pixel columns"
    assert colour_mask(png, DONE_PALETTE[-1]).mean() > 0.01          # blocks done
    assert colour_mask(png, DONE_PALETTE[0], tol=3).mean() > 0.01    # blocks not done yet


def screenshot(cdp, url: str, path, *, width: int = 1200, height: int = 700) -> bytes:
    """A Chromium screenshot of ``url`` after 5 s, taken again after 20 s if the page was still
    blank then (a loaded machine); the PNG's bytes."""
    from PIL import Image

    for wait_s in (5, 20):
        cdp.capture(url, path, wait_s=wait_s, width=width, height=height)
        image = np.asarray(Image.open(path).convert("RGB"))
        if np.any(image < 240, axis=-1).mean() > 0.05:
            break
    return path.read_bytes()
