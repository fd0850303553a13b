"""Serving the web UI: uvicorn in a background thread, beside ``serve``'s ingest worker or alone
(``eco-aggregator ui``). Signal handling stays with the main thread (uvicorn installs none off
it); :meth:`UiServer.stop` asks uvicorn to finish its requests and waits."""

from __future__ import annotations

import logging
import threading
import time

import uvicorn

from ..errors import ConfigError
from .app import create_app
from .common import UiConfig

log = logging.getLogger(__name__)


class UiServer:
    def __init__(self, ui: UiConfig, host: str, port: int) -> None:
        self.host = host
        # keep-alive longer than browsers keep idle sockets: a form POST sent on a connection
        # the server is just closing fails in the browser instead of being retried
        config = uvicorn.Config(create_app(ui), host=host, port=port, log_level="warning",
                                lifespan="off", access_log=False, server_header=False,
                                proxy_headers=False, timeout_keep_alive=65)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        servers = getattr(self._server, "servers", [])
        for s in servers:
            for sock in s.sockets:
                return int(sock.getsockname()[1])
        return int(self._server.config.port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 15.0) -> UiServer:
        self._thread = threading.Thread(target=self._server.run, name="web-ui", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise ConfigError(f"the web UI cannot listen on {self.host}:"
                                  f"{self._server.config.port} (in use, or not an address "
                                  "of this machine)")
            if time.monotonic() > deadline:
                raise ConfigError("the web UI did not start in time")
            time.sleep(0.02)
        log.info("operator web UI on %s", self.url)
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._thread = None


__all__ = ["UiServer"]
