"""A small webhook receiver on 127.0.0.1 that records what it is sent."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _State:
    failures_left: int = 0
    received: list[ReceivedWebhook] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)


class WebhookReceiver:
    """Answers 500 to the first `fail_first` deliveries, 200 after; remembers every one."""

    def __init__(self, fail_first: int = 0) -> None:
        state = _State(failures_left=fail_first)
        self._state = state

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with state.arrived:
                    status = 500 if state.failures_left > 0 else 200
                    state.failures_left -= 1
                    state.answered.append(status)
                    if status == 200:
                        state.received.append(
                            ReceivedWebhook(self.path, dict(self.headers.items()), body)
                        )
                    state.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/webhooks"

    @property
    def received(self) -> list[ReceivedWebhook]:
        return list(self._state.received)

    @property
    def answered(self) -> list[int]:
        return list(self._state.answered)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedWebhook]:
        """The first `count` acknowledged deliveries, waiting for them to arrive."""
        with self._state.arrived:
            self._state.arrived.wait_for(lambda: len(self._state.received) >= count, timeout)
            return list(self._state.received)

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
