"""``nubound live-view STORE``: the nubound dashboard page served from a store, without a scheduler.

The same Bokeh document as the scheduler's ``/nubound`` page
(:func:`nubound.jobs.dashboard.document.build_document`), served by a standalone Bokeh server
in a background thread; a reader thread summarises the store every ``refresh_s`` seconds
(:func:`nubound.jobs.dashboard.summary.read_summary`), so a finished store, or one that a scan
on another machine is filling (a shared filesystem, an fsspec URL), can be watched. Retried and
failed blocks are known only to a scheduler and show as ``–``. It listens on 127.0.0.1 unless
another address is given; with a certificate and key it serves HTTPS.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
from typing import Any

from nubound.physics.errors import ConfigError

log = logging.getLogger(__name__)
DEFAULT_ADDRESS = "127.0.0.1:0"


class LiveView:
    """Serve the nubound page of one store in a background thread (``start``/``stop``).

    Examples
    --------
    >>> view = LiveView("out/quickstart.zarr", address="127.0.0.1:8050").start()  # doctest: +SKIP
    >>> view.url                                                                 # doctest: +SKIP
    'http://127.0.0.1:8050/'
    >>> view.stop()                                                              # doctest: +SKIP
    """

    def __init__(self, url: str, *, address: str | None = None, refresh_s: float = 1.0,
                 ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> None:
        from nubound.storage.store import normalize_url

        self.store = normalize_url(url)
        self.address = address or DEFAULT_ADDRESS
        self.refresh_s = refresh_s
        self.ssl = (ssl_certfile, ssl_keyfile)
        self.url = ""
        self.summary: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._error: BaseException | None = None

    def latest(self) -> dict[str, Any] | None:
        """The last summary read (what the page draws)."""
        return self.summary

    def _read(self) -> None:
        from nubound.jobs.dashboard.summary import Throughput, read_summary

        throughput, warned = Throughput(), False
        while not self._stop.is_set():
            try:
                self.summary = read_summary(self.store, throughput=throughput)
            except Exception as exc:  # a chunk being written, a store gone: try again
                if not warned:
                    log.warning("live view: cannot read %s (%s: %s)", self.store,
                                type(exc).__name__, exc)
                    warned = True
            self._stop.wait(self.refresh_s)

    def _doc(self, doc) -> None:
        from nubound.jobs.dashboard.document import build_document

        build_document(doc, self.latest, title="nubound live view")

    def _serve(self) -> None:
        from bokeh.application import Application
        from bokeh.application.handlers.function import FunctionHandler
        from bokeh.server.server import Server
        from tornado.ioloop import IOLoop

        host, _, port = self.address.rpartition(":")
        host = host or "127.0.0.1"
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            certfile, keyfile = self.ssl
            self._server = Server({"/": Application(FunctionHandler(self._doc))},
                                  io_loop=IOLoop.current(), address=host, port=int(port),
                                  allow_websocket_origin=["*"], ssl_certfile=certfile,
                                  ssl_keyfile=keyfile)
            self._server.start()
            scheme = "https" if certfile else "http"
            self.url = f"{scheme}://{host}:{self._server.port}/"
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.stop(wait=False)
            loop.close()

    def start(self) -> LiveView:
        """Check the store, start reading and serving; returns self with ``url`` set."""
        from nubound.jobs.dashboard.summary import read_summary
        from nubound.storage.store import store_exists

        if not store_exists(self.store):
            raise ConfigError(f"no scan store at {self.store}")
        try:  # the first summary before the first page is served
            self.summary = read_summary(self.store)
        except Exception as exc:
            raise ConfigError(f"{self.store} is not a readable nubound scan store "
                              f"({type(exc).__name__}: {exc})") from None
        for target, name in ((self._read, "nubound-live-view-reader"),
                             (self._serve, "nubound-live-view")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._ready.wait(60)
        if self._error is not None:
            self.stop()
            raise self._error
        log.info("live view of %s at %s", self.store, self.url)
        return self

    def wait(self) -> None:
        """Block until stopped."""
        while any(t.is_alive() for t in self._threads):
            for t in self._threads:
                t.join(0.5)

    def stop(self) -> None:
        """Stop serving and reading; join the threads."""
        self._stop.set()
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
        for t in self._threads:
            t.join(10)


def _cmd_live_view(args: argparse.Namespace) -> int:
    view = LiveView(args.store, address=args.address, ssl_certfile=args.tls_cert,
                    ssl_keyfile=args.tls_key).start()
    print(f"nubound: live view of {view.store} at {view.url} (Ctrl-C stops)", file=sys.stderr,
          flush=True)
    try:
        view.wait()
    except KeyboardInterrupt:
        pass
    finally:
        view.stop()
    return 0


def add_live_view_command(subparsers) -> None:
    """Add ``live-view STORE`` to the ``nubound`` sub-command parsers."""
    live = subparsers.add_parser("live-view", help="serve the nubound dashboard page of a store")
    live.add_argument("store", help="store path or fsspec URL")
    live.add_argument("--address", default="127.0.0.1:8050",
                      help="host:port to listen on (default 127.0.0.1:8050, loopback only)")
    live.add_argument("--tls-cert", default=None, metavar="PEM",
                      help="serve HTTPS with this certificate (and --tls-key)")
    live.add_argument("--tls-key", default=None, metavar="PEM", help="key of --tls-cert")
    live.set_defaults(func=_cmd_live_view)
