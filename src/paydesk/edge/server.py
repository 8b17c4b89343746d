"""How paydesk's HTTP server is set up: uvicorn, with limits a public server needs.

uvicorn waits for a request's headers as long as the client likes, so a client sending a
byte now and then holds its connection (and a file descriptor) for ever. Here a request's
headers must be complete within `HEADER_TIMEOUT_SECONDS` of its first byte (or of the
connection, for the first request), else the connection is closed. The body has its own
limit (limits.py); an idle keep-alive connection closes after `KEEP_ALIVE_SECONDS`.

`serve_processes` runs several processes of the app on one listening socket, under
uvicorn's own supervisor."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess

HEADER_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
# The most header bytes a request may send: far above what any client sends.
MAX_HEADER_BYTES = 64 * 1024
# How long a process of `serve_processes` may leave its supervisor's ping unanswered before
# it is taken for hung and replaced. uvicorn's 5 s is shorter than a fresh interpreter can
# take to import paydesk on a busy machine, which would kill processes still starting.
WORKER_HEALTHCHECK_SECONDS = 30


class TimedHeadersProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections whose headers come too slowly."""

    header_timeout_seconds = HEADER_TIMEOUT_SECONDS
    _headers_timer: asyncio.TimerHandle | None = None
    _header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_headers_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_headers_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        self._header_bytes = 0
        self._arm_headers_timer()
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_headers_timer()
        super().on_headers_complete()

    def _count_header_bytes(self, count: int) -> None:
        self._header_bytes += count
        if self._header_bytes > MAX_HEADER_BYTES:
            self._disarm_headers_timer()
            self.transport.close()

    def _arm_headers_timer(self) -> None:
        if self._headers_timer is None:
            self._headers_timer = self.loop.call_later(
                self.header_timeout_seconds, self._headers_too_slow
            )

    def _disarm_headers_timer(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _headers_too_slow(self) -> None:
        # Armed only until a request's headers are complete: between requests the
        # keep-alive timer is in charge, while an app answers nothing here is.
        self._headers_timer = None
        self.transport.close()


def uvicorn_config(app: Any, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for paydesk's app: the protocol above, paydesk's own logging."""
    settings: dict[str, Any] = {
        "http": TimedHeadersProtocol,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "log_config": None,
        "access_log": False,
        **options,
    }
    return uvicorn.Config(app, **settings)


def serve_processes(factory: str, *, workers: int, **options: Any) -> int:
    """Serves the app that `factory` (an import string, "module:function") makes, in
    `workers` processes sharing one listening socket, and returns the exit status.

    The socket is bound here, once; uvicorn's supervisor then starts each process afresh
    (spawned, not forked), and each calls `factory` itself, so every process has its own
    app, database pool and event loop and shares none with another. A process that dies is
    replaced. SIGINT or SIGTERM stops them all: each is sent SIGTERM, finishes the requests
    it is answering, runs its app's shutdown, and is waited for. One whose app fails to
    start stops the others too, and the status is then uvicorn's for a failed start-up, as
    a single process exits with; otherwise 0."""
    options = {"timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS, **options}
    config = uvicorn_config(factory, factory=True, workers=workers, **options)
    listener = config.bind_socket()
    supervisor = Multiprocess(config, sockets=[listener])
    try:
        supervisor.run()
    finally:
        listener.close()
    failed = any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)
    return STARTUP_FAILURE if failed else 0
