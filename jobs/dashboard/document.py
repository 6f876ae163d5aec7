"""The Bokeh document of the nubound page: progress, blocks done over the grid, live limits.

:func:`build_document` fills a Bokeh ``Document`` from a callable that returns the latest
summary (:mod:`nubound.jobs.dashboard.summary`) or None. A periodic callback (every
``period_ms``) compares the summary's ``updated_utc``/identity with the last one drawn and
updates the data sources; it does no I/O, so it is safe on the scheduler's event loop. The
figures are rebuilt only when the axes change (another scan pushed to the same scheduler).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import numpy as np

Summary = dict[str, Any]

#: curve colours (Bokeh's Category10 without its blue, which the done map uses)
CURVE_COLOURS = ("#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
COMBINED_COLOUR = "#000000"
DONE_PALETTE = ("#eeeeee", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c")
WAITING = "waiting for the scan to report its first blocks…"


def format_duration(seconds: float | None) -> str:
    """``1 h 02 min``, ``4 min 05 s``, ``12 s``; ``–`` for unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def _count(value: Any) -> str:
    return "–" if value is None else str(value)


def stats_rows(s: Summary) -> list[tuple[str, str]]:
    """(name, value) rows of the header table."""
    total = max(int(s["blocks_total"]), 1)
    rate = s.get("points_per_s")
    rows = [
        ("blocks done", f"{s['blocks_done']} / {s['blocks_total']} "
                        f"({100.0 * s['blocks_done'] / total:.1f} %)"),
        ("points done", f"{s['points_done']:,} / {s['points_total']:,}"),
        ("throughput", "–" if rate is None else f"{rate:,.0f} points/s"),
        ("ETA", format_duration(s.get("eta_s"))),
        ("retried blocks", _count(s.get("retried"))),
        ("failed blocks", _count(s.get("failed"))
         + (f" ({', '.join(s['failed_blocks'][:10])})" if s.get("failed_blocks") else "")),
    ]
    if s.get("level") is not None:
        rows.append(("refinement level", str(s["level"])))
    return rows


def header_html(s: Summary | None) -> str:
    """The header: model, store, the stats table."""
    if s is None:
        return f"<h3>nubound scan</h3><p>{WAITING}</p>"
    data = f", data: {html.escape(s['data'])}" if s.get("data") == "asimov" else ""
    cells = "".join(f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(v)}</b></td></tr>"
                    for k, v in stats_rows(s))
    return (f"<h3 style='margin:0'>nubound scan: {html.escape(s['model'])}"
            f" ({100 * s['cl']:.0f} % CL{data})</h3>"
            f"<div style='font-size:90%;color:#555'>{html.escape(s['store'])} · "
            f"updated {html.escape(s['updated_utc'])}</div>"
            f"<table style='font-size:110%'>{cells}</table>")


def _axis_type(scale: str) -> str:
    return "log" if scale == "log" else "linear"


def done_source_data(s: Summary) -> dict[str, list]:
    """Quads of the done map (one per block of the two plot axes) and their fraction done."""
    d = s["done"]
    frac = np.asarray(d["fraction"], dtype=float)
    xe, ye = np.asarray(d["x_edges"]), np.asarray(d["y_edges"])
    ix, iy = np.meshgrid(np.arange(frac.shape[0]), np.arange(frac.shape[1]), indexing="ij")
    ix, iy = ix.ravel(), iy.ravel()
    return {"left": xe[ix].tolist(), "right": xe[ix + 1].tolist(),
            "bottom": ye[iy].tolist(), "top": ye[iy + 1].tolist(),
            "fraction": frac.ravel().tolist()}


def curve_source_data(s: Summary) -> dict[str, list]:
    """One row per path of every curve: ``xs``, ``ys``, ``label``, ``colour``, ``width``."""
    out: dict[str, list] = {"xs": [], "ys": [], "label": [], "colour": [], "width": []}
    k = 0
    for curve in s["plot"]["curves"]:
        combined = curve["label"] == "combined"
        colour = COMBINED_COLOUR if combined else CURVE_COLOURS[k % len(CURVE_COLOURS)]
        k += 0 if combined else 1
        for xs, ys in zip(curve["xs"], curve["ys"], strict=True):
            out["xs"].append(np.asarray(xs, dtype=float))
            out["ys"].append(np.asarray(ys, dtype=float))
            out["label"].append(curve["label"])
            out["colour"].append(colour)
            out["width"].append(4 if combined else 2.5)
    return out


def _layout_key(s: Summary | None) -> tuple:
    if s is None:
        return ()
    p, d = s["plot"], s["done"]
    return (p["kind"], p["x"], p["y"], p["x_scale"], p["y_scale"], d["x"], d["y"],
            tuple(d["summarised"]), p["threshold"] is not None)


class NuboundView:
    """The page's models and their update from a summary (no I/O here)."""

    def __init__(self, latest: Callable[[], Summary | None]) -> None:
        from bokeh.layouts import column
        from bokeh.models import Div

        self.latest = latest
        self.header = Div(text=header_html(None), sizing_mode="stretch_width")
        self.root = column(self.header, sizing_mode="stretch_width")
        self.key: tuple = ()
        self.drawn: Any = None
        self.done_source = self.curve_source = None

    def _figures(self, s: Summary) -> list:
        from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper, Span
        from bokeh.plotting import figure

        p, d = s["plot"], s["done"]
        x_range = p["x_range"]
        done_fig = figure(
            title="blocks done" + (f" (share, over {', '.join(d['summarised'])})"
                                   if d["summarised"] else ""),
            x_axis_type=_axis_type(p["x_scale"]), x_range=tuple(x_range),
            y_axis_type=_axis_type(p["y_scale"]) if d["y"] is not None else "linear",
            y_range=tuple(d["y_edges"][::len(d["y_edges"]) - 1]),
            height=380, width=520, tools="pan,wheel_zoom,box_zoom,reset,hover",
            tooltips=[("done", "@fraction{0%}")])
        self.done_source = ColumnDataSource(done_source_data(s))
        mapper = LinearColorMapper(palette=list(DONE_PALETTE), low=0.0, high=1.0)
        done_fig.quad(left="left", right="right", bottom="bottom", top="top",
                      source=self.done_source, line_color="white", line_width=1,
                      fill_color={"field": "fraction", "transform": mapper})
        done_fig.add_layout(ColorBar(color_mapper=mapper, width=10, title="done"), "right")
        done_fig.xaxis.axis_label = p["x_label"]
        done_fig.yaxis.axis_label = p["y_label"] if d["y"] is not None else ""
        y_range = p["y_range"] or [0.0, 1.0]
        limit_fig = figure(
            title={"mediator": "upper limit on the coupling (excluded above)",
                   "profile": "Δχ² profile", "region": "allowed region (inside the lines)"}
            [p["kind"]] + f", {100 * s['cl']:.0f} % CL",
            x_axis_type=_axis_type(p["x_scale"]), y_axis_type=_axis_type(p["y_scale"]),
            x_range=done_fig.x_range, y_range=tuple(y_range), height=380, width=620,
            tools="pan,wheel_zoom,box_zoom,reset,save")
        self.curve_source = ColumnDataSource(curve_source_data(s))
        limit_fig.multi_line(xs="xs", ys="ys", line_color="colour", line_width="width",
                             legend_field="label", source=self.curve_source)
        if p["kind"] == "profile" and p["threshold"] is not None:
            limit_fig.add_layout(Span(location=p["threshold"], dimension="width",
                                      line_dash="dotted", line_color="grey"))
        limit_fig.legend.location = "bottom_right"
        limit_fig.xaxis.axis_label = p["x_label"]
        limit_fig.yaxis.axis_label = p["y_label"]
        return [done_fig, limit_fig]

    def update(self) -> None:
        """Draw the latest summary if it is new (the periodic callback)."""
        from bokeh.layouts import row

        s = self.latest()
        if s is None or s is self.drawn:
            return
        self.header.text = header_html(s)
        key = _layout_key(s)
        if key != self.key:
            self.key = key
            self.root.children = [self.header, row(*self._figures(s))]
        else:
            self.done_source.data = done_source_data(s)
            self.curve_source.data = curve_source_data(s)
        self.drawn = s


def build_document(doc, latest: Callable[[], Summary | None], *, period_ms: int = 500,
                   title: str = "nubound scan") -> NuboundView:
    """Fill ``doc`` with the nubound page fed by ``latest()``; returns the view."""
    view = NuboundView(latest)
    view.update()
    doc.title = title
    doc.add_root(view.root)
    doc.add_periodic_callback(view.update, period_ms)
    return view
