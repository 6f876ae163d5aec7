"""A small live view of a running scan: blocks done over the grid and the current exclusion curve.

A tornado app (tornado comes with distributed) in a background thread: ``/`` is one HTML page
whose script polls ``/state.json`` and redraws two SVG panels as blocks land; ``/state.json``
is the snapshot (:func:`snapshot`). It listens on 127.0.0.1 unless another address is given.
The curve is :func:`nubound.storage.limits.coupling_limits` (upper coupling limit per mass,
profiled over quenching); where that cannot be computed yet it falls back to the largest
grid coupling with Δχ² ≤ ``scipy.stats.chi2.ppf(cl, 1)`` per mass (docs/design.md#limits-contract).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
DEFAULT_ADDRESS = "127.0.0.1:0"


def _finite(values) -> list[float | None]:
    return [float(v) if math.isfinite(float(v)) else None for v in np.asarray(values).ravel()]


def _limit_curve(ds, cl: float) -> dict[str, Any] | None:
    """Upper coupling limit per mass, or None when the grid has no (mass, coupling) pair."""
    from nubound.physics.errors import ConfigError

    try:
        from nubound.storage.limits import coupling_limits, find_axis

        res = coupling_limits(ds, cl=cl)
        mass = find_axis(list(res.dims), "mass")
        return {"x_name": mass, "y_name": str(res.coupling_upper.attrs.get("long_name", "")) or
                "coupling", "x": _finite(res[mass].values), "y": _finite(res.coupling_upper.values),
                "method": "storage.limits.coupling_limits"}
    except (ImportError, ConfigError, ValueError, KeyError):
        pass
    from scipy import stats

    names = [v for v in ds.data_vars if str(v).startswith("chi2_")]
    axes = [d.removeprefix("block_") for d in ds["done"].dims]
    if not names or len(axes) < 2:
        return None
    x_name, y_name = axes[0], axes[1]
    total = 0
    for name in names:
        grid = ds[name]
        extra = [d for d in grid.dims if d not in axes]
        total = total + (grid.min(extra) if extra else grid)
    others = [a for a in axes if a not in (x_name, y_name)]
    chi2 = (total.min(others) if others else total).transpose(x_name, y_name).values
    if not np.isfinite(chi2).any():
        return None
    allowed = (chi2 - np.nanmin(chi2)) <= stats.chi2.ppf(cl, 1)
    y = np.asarray(ds[y_name].values, dtype=float)
    limit = [y[np.flatnonzero(row)[-1]] if row.any() else math.nan for row in allowed]
    return {"x_name": x_name, "y_name": y_name, "x": _finite(ds[x_name].values),
            "y": _finite(limit), "method": "largest allowed grid point (Δχ² threshold)"}


def snapshot(url: str, *, cl: float | None = None) -> dict[str, Any]:
    """JSON-ready state of a store: progress, done map (first two block axes), limit curve."""
    from nubound.storage.levels import finest_dataset
    from nubound.storage.store import open_store, read_attrs

    ds = open_store(url)
    attrs = read_attrs(url)
    done = np.asarray(ds["done"].values, dtype=float)
    axes = [d.removeprefix("block_") for d in ds["done"].dims]
    grid = done.reshape(1, -1) if done.ndim == 1 else done.reshape(done.shape[:2] + (-1,)).mean(-1)
    if cl is None:
        from nubound.storage.spec_attrs import stored_spec

        cl = float(stored_spec(attrs).get("confidence_level", 0.9))
    n_done = int(done.sum())
    scales = {a: ds[a].attrs.get("scale", "lin") for a in axes}
    return {
        "store": url, "blocks_done": n_done, "blocks_total": int(done.size),
        "axes": axes, "scales": scales, "done_grid": grid.tolist(),
        "limit": _limit_curve(finest_dataset(url), cl) if n_done else None, "confidence_level": cl,
        "dashboard_link": attrs.get("dashboard_link", ""),
        "updated_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class LiveView:
    """Serve the live view of one store in a background thread (``start``/``stop``)."""

    def __init__(self, url: str, *, address: str | None = None, cl: float | None = None,
                 refresh_s: float = 1.0) -> None:
        from nubound.storage.store import normalize_url

        self.store = normalize_url(url)
        self.address = address or DEFAULT_ADDRESS
        self.cl = cl
        self.refresh_s = refresh_s
        self.url = ""
        self._cache: tuple[float, dict] | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    def state(self) -> dict[str, Any]:
        """The current snapshot, recomputed at most every ``refresh_s`` seconds."""
        with self._lock:
            now = time.monotonic()
            if self._cache is None or now - self._cache[0] >= self.refresh_s:
                self._cache = (now, snapshot(self.store, cl=self.cl))
            return self._cache[1]

    def _app(self):
        import tornado.web

        view = self
        page = PAGE.replace("__REFRESH_MS__", str(int(1000 * self.refresh_s)))

        class Page(tornado.web.RequestHandler):
            def get(self) -> None:
                self.set_header("Content-Type", "text/html; charset=utf-8")
                self.write(page)

        class State(tornado.web.RequestHandler):
            async def get(self) -> None:
                state = await asyncio.get_running_loop().run_in_executor(None, view.state)
                self.set_header("Content-Type", "application/json")
                self.set_header("Cache-Control", "no-store")
                self.write(json.dumps(state))

        class NoIcon(tornado.web.RequestHandler):
            def get(self) -> None:
                self.set_status(204)

        return tornado.web.Application([(r"/", Page), (r"/state.json", State),
                                        (r"/favicon.ico", NoIcon)])

    def _serve(self) -> None:
        host, _, port = self.address.rpartition(":")
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            server = self._app().listen(int(port), address=host or "127.0.0.1")
            bound = next(iter(server._sockets.values())).getsockname()[1]
            self.url = f"http://{host or '127.0.0.1'}:{bound}/"
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.stop()
            loop.run_until_complete(server.close_all_connections())
            loop.close()
            self._stopped.set()

    def start(self) -> LiveView:
        """Start serving; returns self with ``url`` set."""
        self._thread = threading.Thread(target=self._serve, name="nubound-live-view", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        log.info("live view of %s at %s", self.store, self.url)
        return self

    def wait(self) -> None:
        """Block until stopped."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


# The page: polls state.json and redraws two SVG panels (no external scripts, no CDN).
PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>nubound live view</title>
<style>
  body { font-family: sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 .3em 0; }
  #progress { font-size: 1.1em; font-weight: bold; }
  .panels { display: flex; gap: 2em; margin-top: 1em; }
  .panel h2 { font-size: 1em; margin: 0 0 .3em 0; }
  svg { border: 1px solid #bbb; background: #fff; }
  .meta { color: #555; font-size: .9em; }
</style>
</head>
<body>
<h1>nubound scan</h1>
<div id="progress">waiting for the first snapshot…</div>
<div class="meta" id="meta"></div>
<div class="panels">
  <div class="panel"><h2>blocks done over the grid</h2>
    <svg id="done" width="480" height="400"></svg></div>
  <div class="panel"><h2 id="limit-title">exclusion curve</h2>
    <svg id="limit" width="560" height="400"></svg></div>
</div>
<script>
const NS = "http://www.w3.org/2000/svg";
function el(parent, tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  parent.appendChild(e); return e;
}
function drawDone(svg, s) {
  svg.innerHTML = "";
  const g = s.done_grid, nx = g.length, ny = g[0].length, W = 400, H = 330, x0 = 60, y0 = 20;
  for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) {
    const f = g[i][j];
    el(svg, "rect", {x: x0 + i * W / nx, y: y0 + H - (j + 1) * H / ny, width: W / nx - 1,
      height: H / ny - 1, fill: f >= 1 ? "#2c7fb8" : (f > 0 ? "#7fcdbb" : "#eeeeee")});
  }
  el(svg, "text", {x: x0 + W / 2, y: y0 + H + 35, "text-anchor": "middle"},
     "block along " + s.axes[0]);
  if (s.axes.length > 1) el(svg, "text", {x: 15, y: y0 + H / 2,
    transform: `rotate(-90 15 ${y0 + H / 2})`, "text-anchor": "middle"},
    "block along " + s.axes[1]);
}
function drawLimit(svg, s) {
  svg.innerHTML = "";
  const L = s.limit, x0 = 70, y0 = 20, W = 460, H = 330;
  el(svg, "rect", {x: x0, y: y0, width: W, height: H, fill: "none", stroke: "#888"});
  if (!L) { el(svg, "text", {x: x0 + 20, y: y0 + 40}, "no limit yet"); return; }
  document.getElementById("limit-title").textContent =
    `exclusion curve (${Math.round(100 * s.confidence_level)}% CL): ${L.y_name} vs ${L.x_name}`;
  const pts = L.x.map((x, i) => [x, L.y[i]]).filter(p => p[0] !== null && p[1] !== null);
  const logx = s.scales[L.x_name] === "log", logy = s.scales[L.y_name] !== "lin";
  const tx = v => logx ? Math.log10(v) : v, ty = v => logy ? Math.log10(v) : v;
  const xs = L.x.filter(v => v !== null).map(tx);
  const ys = pts.map(p => ty(p[1]));
  const xmin = Math.min(...xs), xmax = Math.max(...xs);
  const ymin = ys.length ? Math.min(...ys) - 0.1 : 0, ymax = ys.length ? Math.max(...ys) + 0.1 : 1;
  const px = v => x0 + W * (tx(v) - xmin) / ((xmax - xmin) || 1);
  const py = v => y0 + H - H * (ty(v) - ymin) / ((ymax - ymin) || 1);
  el(svg, "text", {x: x0 + W / 2, y: y0 + H + 35, "text-anchor": "middle"},
     L.x_name + (logx ? " (log)" : ""));
  el(svg, "text", {x: 15, y: y0 + H / 2, transform: `rotate(-90 15 ${y0 + H / 2})`,
     "text-anchor": "middle"},
     L.y_name + (logy ? " (log)" : ""));
  const fmt = v => (logy ? Math.pow(10, v) : v).toPrecision(2);
  el(svg, "text", {x: x0 - 4, y: y0 + 12, "text-anchor": "end"}, fmt(ymax));
  el(svg, "text", {x: x0 - 4, y: y0 + H, "text-anchor": "end"}, fmt(ymin));
  el(svg, "text", {x: x0, y: y0 + H + 16}, Number(L.x[0]).toPrecision(2));
  el(svg, "text", {x: x0 + W, y: y0 + H + 16, "text-anchor": "end"},
     Number(L.x[L.x.length - 1]).toPrecision(2));
  if (!pts.length) {
    el(svg, "text", {x: x0 + 20, y: y0 + 40}, "no limit inside the grid yet"); return;
  }
  el(svg, "polyline", {points: pts.map(p => `${px(p[0])},${py(p[1])}`).join(" "), fill: "none",
     stroke: "#d95f0e", "stroke-width": 3});
  for (const p of pts) el(svg, "circle", {cx: px(p[0]), cy: py(p[1]), r: 3, fill: "#d95f0e"});
}
async function refresh() {
  try {
    const s = await (await fetch("state.json", {cache: "no-store"})).json();
    const pct = s.blocks_total ? (100 * s.blocks_done / s.blocks_total).toFixed(1) : "100.0";
    document.getElementById("progress").textContent =
      `${s.blocks_done} / ${s.blocks_total} blocks done (${pct}%)`;
    document.getElementById("meta").textContent =
      `store ${s.store} · updated ${s.updated_utc}` +
      (s.dashboard_link ? ` · Dask dashboard ${s.dashboard_link}` : "");
    drawDone(document.getElementById("done"), s);
    drawLimit(document.getElementById("limit"), s);
  } catch (err) {
    document.getElementById("meta").textContent = "snapshot failed: " + err;
  }
}
refresh();
setInterval(refresh, __REFRESH_MS__);
</script>
</body>
</html>
"""
