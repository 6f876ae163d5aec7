"""Screenshot a page with headless Debian chromium over the DevTools protocol (CDP).

``chromium --screenshot`` fires at the load event, before pages that draw from a websocket or a
fetch have rendered (notes/infrastructure.md §2); driving the browser over CDP lets the page run
for ``wait_s`` seconds first. Needs only tornado's websocket client (a distributed dependency).
Usage: ``python cdp_shot.py URL OUT.png [wait_s] [JS expression to print]``.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")


def chromium() -> str | None:
    """Path of the chromium binary, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


async def _capture(url: str, out: Path, wait_s: float, expression: str | None,
                   width: int, height: int) -> object:
    from tornado.websocket import websocket_connect

    profile = Path(tempfile.mkdtemp(prefix="nubound-cdp-"))
    proc = subprocess.Popen([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                             f"--window-size={width},{height}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        page = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                    page = [t for t in json.load(r) if t["type"] == "page"][0]
                break
            except (OSError, IndexError, ValueError):
                await asyncio.sleep(0.1)
        if page is None:
            raise RuntimeError("chromium devtools did not come up")
        ws = await websocket_connect(page["webSocketDebuggerUrl"], max_message_size=256 * 2**20)
        counter = 0

        async def call(method: str, **params):
            nonlocal counter
            counter += 1
            await ws.write_message(json.dumps({"id": counter, "method": method,
                                               "params": params}))
            while True:
                msg = json.loads(await ws.read_message())
                if msg.get("id") == counter:
                    if "error" in msg:
                        raise RuntimeError(msg["error"])
                    return msg["result"]

        await call("Page.enable")
        await call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                   deviceScaleFactor=1, mobile=False)
        await call("Page.navigate", url=url)
        t0 = time.monotonic()
        while time.monotonic() - t0 < wait_s:  # let the page fetch and draw
            await call("Runtime.evaluate", expression="1")
            await asyncio.sleep(0.25)
        value = None
        if expression:
            res = await call("Runtime.evaluate", expression=expression, returnByValue=True)
            value = res["result"].get("value")
        shot = await call("Page.captureScreenshot", format="png")
        out.write_bytes(base64.b64decode(shot["data"]))
        ws.close()
        return value
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(profile, ignore_errors=True)


def capture(url: str, out: str | Path, *, wait_s: float = 4.0, expression: str | None = None,
            width: int = 1200, height: int = 600) -> object:
    """Load ``url``, wait ``wait_s`` s, write a PNG to ``out``; return ``expression``'s value."""
    try:
        return asyncio.run(_capture(url, Path(out), wait_s, expression, width, height))
    finally:
        # the devtools websocket's socket dies with the browser; collect it here rather than
        # have its ResourceWarning surface in whichever test runs next
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


if __name__ == "__main__":
    result = capture(sys.argv[1], sys.argv[2], wait_s=float(sys.argv[3]) if len(sys.argv) > 3
                     else 4.0, expression=sys.argv[4] if len(sys.argv) > 4 else None)
    print(f"wrote {sys.argv[2]} ({Path(sys.argv[2]).stat().st_size} bytes); value: {result!r}")
