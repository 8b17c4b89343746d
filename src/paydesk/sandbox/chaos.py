"""Failure injection: the next N API calls fail the way a network or Stripe can."""

import threading
from dataclasses import dataclass
from enum import StrEnum


class ChaosMode(StrEnum):
    ERROR_500 = "error_500"
    DISCONNECT = "disconnect"
    DISCONNECT_AFTER = "disconnect_after"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class ChaosTicket:
    mode: ChaosMode
    timeout_seconds: float


class Chaos:
    """Counts down planned failures; safe to arm from a test thread while the server runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = 0
        self._mode = ChaosMode.ERROR_500
        self._timeout_seconds = 30.0

    def arm(self, fail_next_requests: int, mode: ChaosMode, timeout_seconds: float = 30.0) -> None:
        with self._lock:
            self._remaining = fail_next_requests
            self._mode = mode
            self._timeout_seconds = timeout_seconds

    def disarm(self) -> None:
        self.arm(0, ChaosMode.ERROR_500)

    @property
    def remaining(self) -> int:
        return self._remaining

    def take(self) -> ChaosTicket | None:
        """The failure planned for this request, if any."""
        if self._remaining <= 0:
            return None
        with self._lock:
            if self._remaining <= 0:
                return None
            self._remaining -= 1
            return ChaosTicket(self._mode, self._timeout_seconds)


class WebhookChaosMode(StrEnum):
    DUPLICATE = "duplicate"
    DROP = "drop"
    DELAY = "delay"


@dataclass(frozen=True, slots=True)
class WebhookChaosTicket:
    mode: WebhookChaosMode
    delay_seconds: float


class WebhookChaos:
    """Counts down deliveries to send twice, never send, or send late (which reorders them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = 0
        self._mode = WebhookChaosMode.DUPLICATE
        self._delay_seconds = 1.0

    def arm(self, count: int, mode: WebhookChaosMode, delay_seconds: float = 1.0) -> None:
        with self._lock:
            self._remaining = count
            self._mode = mode
            self._delay_seconds = delay_seconds

    def disarm(self) -> None:
        self.arm(0, WebhookChaosMode.DUPLICATE)

    @property
    def remaining(self) -> int:
        return self._remaining

    def take(self) -> WebhookChaosTicket | None:
        if self._remaining <= 0:
            return None
        with self._lock:
            if self._remaining <= 0:
                return None
            self._remaining -= 1
            return WebhookChaosTicket(self._mode, self._delay_seconds)
