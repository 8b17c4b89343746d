"""Serving the sandbox: in a background thread for tests and demos, or on its own."""

import logging
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from paydesk.sandbox.api import SimulatedDisconnectError
from paydesk.sandbox.app import SandboxApp, create_sandbox_app
from paydesk.sandbox.chaos import Chaos, ChaosMode, WebhookChaos, WebhookChaosMode, WebhookMix
from paydesk.sandbox.config import SandboxConfig
from paydesk.sandbox.errors import StripeObject
from paydesk.sandbox.store import SandboxStore

_STARTUP_TIMEOUT_SECONDS = 10.0


class _DropSimulatedDisconnects(logging.Filter):
    """Chaos drops connections by raising; that is the plan, not an error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SimulatedDisconnectError))


def _quiet_simulated_disconnects() -> None:
    server_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropSimulatedDisconnects) for f in server_logger.filters):
        server_logger.addFilter(_DropSimulatedDisconnects())


def _uvicorn_config(app: SandboxApp, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        ws="none",
        lifespan="on",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=1,
        **options,
    )


class SandboxServer:
    """The sandbox on 127.0.0.1 in a background thread.

    `port=0` picks a free port on the first start; later starts reuse it, and the store is
    kept, so a test can take the sandbox down mid-flow and bring it back. The config sets
    how it behaves, e.g. `SandboxConfig(latency_ms=300)` to answer as slowly as Stripe.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        store: SandboxStore | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.store = store if store is not None else SandboxStore()
        self.chaos = Chaos()
        self.webhook_chaos = WebhookChaos()
        self.app = create_sandbox_app(self.config, self.store, self.chaos, self.webhook_chaos)
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._port == 0:
            raise RuntimeError("the sandbox has not been started yet")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "SandboxServer":
        if self.running:
            return self
        _quiet_simulated_disconnects()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self._host, self._port))
        except OSError:
            listener.close()
            raise
        self._port = listener.getsockname()[1]
        server = uvicorn.Server(_uvicorn_config(self.app, log_config=None, log_level="warning"))
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [listener]},
            name="paydesk-sandbox",
            daemon=True,
        )
        self._server, self._thread, self._socket = server, thread, listener
        thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox did not start on {self._host}:{self._port}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_STARTUP_TIMEOUT_SECONDS)
        if self._socket is not None:
            self._socket.close()
        self._server, self._thread, self._socket = None, None, None

    def restart(self) -> None:
        self.stop()
        self.start()

    def fail_next_requests(
        self, count: int, mode: ChaosMode | str = ChaosMode.ERROR_500, timeout_seconds: float = 30.0
    ) -> None:
        """Make the next `count` API calls fail; the same as `POST /_sandbox/chaos`."""
        self.chaos.arm(count, ChaosMode(mode), timeout_seconds)

    def misdeliver_next_webhooks(
        self,
        count: int,
        mode: WebhookChaosMode | str = WebhookChaosMode.DUPLICATE,
        delay_seconds: float = 1.0,
    ) -> None:
        """Send the next `count` deliveries twice, never, or late: `/_sandbox/chaos/webhooks`."""
        self.webhook_chaos.arm(count, WebhookChaosMode(mode), delay_seconds)

    def mix_webhooks(
        self,
        *,
        drop_rate: float = 0.0,
        duplicate_rate: float = 0.0,
        shuffle_window_seconds: float = 0.0,
        delay_seconds: tuple[float, float] = (0.0, 0.0),
        seed: int | None = None,
    ) -> None:
        """Misdeliver every webhook at random from now on, as `/_sandbox/chaos/webhooks`
        does with a mix; all zero turns it off."""
        self.webhook_chaos.set_mix(
            WebhookMix(drop_rate, duplicate_rate, shuffle_window_seconds, delay_seconds, seed)
        )

    def calm_webhooks(self) -> None:
        """No more misdelivery, planned or random: `DELETE /_sandbox/chaos/webhooks`."""
        self.webhook_chaos.disarm()

    def dispute_charge(
        self,
        charge_id: str,
        *,
        reason: str = "fraudulent",
        amount: int | None = None,
        inquiry: bool = False,
    ) -> StripeObject:
        """Dispute a succeeded charge now: `POST /_sandbox/charges/{id}/dispute`."""
        body: StripeObject = {"reason": reason, "amount": amount, "inquiry": inquiry}
        return self.app.scheduler.call(lambda: self.app.disputes.open_on_demand(charge_id, body))

    def advance_clock(self, seconds: float) -> int:
        """As if `seconds` had passed for what the sandbox does later, which runs now:
        `POST /_sandbox/clock/advance`. Returns how many scheduled things ran."""
        return self.app.scheduler.call(lambda: self.app.scheduler.advance(seconds))

    def run_payouts(self) -> list[StripeObject]:
        """The automatic payouts of what is available now: `POST /_sandbox/payouts/run`."""
        return self.app.scheduler.call(self.app.payouts.pay_out_available)

    def close_dispute(self, dispute_id: str, outcome: str) -> StripeObject:
        """The network's verdict, `won` or `lost`: `POST /_sandbox/disputes/{id}/close`."""
        return self.app.scheduler.call(lambda: self.app.disputes.settle(dispute_id, outcome))

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def run_sandbox(
    host: str = "127.0.0.1", port: int = 12111, config: SandboxConfig | None = None
) -> None:
    """Serve the sandbox in the foreground until interrupted (`paydesk sandbox`)."""
    _quiet_simulated_disconnects()
    app = create_sandbox_app(config or SandboxConfig())
    uvicorn.Server(_uvicorn_config(app, host=host, port=port, log_level="info")).run()
