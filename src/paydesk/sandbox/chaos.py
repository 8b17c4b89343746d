"""Failure injection: the next N API calls fail the way a network or Stripe can, and
webhooks arrive twice, never, or out of order: for the next N, or at random until told."""

import random
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


@dataclass(frozen=True, slots=True)
class WebhookMix:
    """A standing policy: each delivery may be dropped, doubled, and held for a while.

    A held delivery waits `delay_seconds` (a random value in the range) plus a random part
    of `shuffle_window_seconds`, so deliveries overtake one another.
    """

    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    shuffle_window_seconds: float = 0.0
    delay_seconds: tuple[float, float] = (0.0, 0.0)
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("drop_rate", "duplicate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.shuffle_window_seconds < 0:
            raise ValueError("shuffle_window_seconds must not be negative")
        low, high = self.delay_seconds
        if not 0.0 <= low <= high:
            raise ValueError("delay_seconds must be [low, high] with 0 <= low <= high")

    @property
    def active(self) -> bool:
        return bool(
            self.drop_rate
            or self.duplicate_rate
            or self.shuffle_window_seconds
            or self.delay_seconds[1]
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "drop_rate": self.drop_rate,
            "duplicate_rate": self.duplicate_rate,
            "shuffle_window_seconds": self.shuffle_window_seconds,
            "delay_seconds": list(self.delay_seconds),
            "seed": self.seed,
        }


@dataclass(frozen=True, slots=True)
class MixedDelivery:
    """What the mix decided for one delivery."""

    drop: bool
    copies: int
    hold_seconds: float


class WebhookChaos:
    """Counts down deliveries to send twice, never send, or send late (which reorders them);
    and, apart from that count, may apply a standing random `WebhookMix` to every delivery."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = 0
        self._mode = WebhookChaosMode.DUPLICATE
        self._delay_seconds = 1.0
        self._mix: WebhookMix | None = None
        self._random = random.Random()

    @property
    def mix(self) -> WebhookMix | None:
        return self._mix

    def set_mix(self, mix: WebhookMix | None) -> None:
        """Apply `mix` to every delivery from now on; None, or an inactive mix, stops it."""
        with self._lock:
            self._mix = mix if mix is not None and mix.active else None
            self._random = random.Random(mix.seed if mix is not None else None)

    def draw(self) -> MixedDelivery | None:
        """The mix's decision for the next delivery, or None when there is no mix."""
        with self._lock:
            mix = self._mix
            if mix is None:
                return None
            chance = self._random.random
            drop = chance() < mix.drop_rate
            copies = 2 if chance() < mix.duplicate_rate else 1
            low, high = mix.delay_seconds
            hold = self._random.uniform(low, high) + chance() * mix.shuffle_window_seconds
            return MixedDelivery(drop, copies, hold)

    def arm(self, count: int, mode: WebhookChaosMode, delay_seconds: float = 1.0) -> None:
        with self._lock:
            self._remaining = count
            self._mode = mode
            self._delay_seconds = delay_seconds

    def disarm(self) -> None:
        """Stop the countdown and the mix alike."""
        self.arm(0, WebhookChaosMode.DUPLICATE)
        self.set_mix(None)

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
