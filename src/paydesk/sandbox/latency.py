"""Stripe's own latency: api.stripe.com answers in 200-500 ms, the sandbox in about one.

With a latency set, every Stripe API call (`/v1/…`, errors and unknown URLs included) waits
that long, plus up to the jitter at random, before the app even routes it. The wait is an
asyncio sleep at the app's door, before authentication, idempotency locks or any handler:
it holds nothing, so concurrent calls wait side by side and N of them take one latency,
not N. CORS preflights, the `/_sandbox/…` controls and the 3-D Secure pages never wait.
"""

import asyncio
import random


def check_latency_ms(name: str, value: object) -> None:
    """A latency is a whole, non-negative number of milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer (milliseconds), not {value!r}")


class StripeLatency:
    def __init__(self, latency_ms: int = 0, jitter_ms: int = 0, seed: int | None = None) -> None:
        check_latency_ms("latency_ms", latency_ms)
        check_latency_ms("latency_jitter_ms", jitter_ms)
        self._base_seconds = latency_ms / 1000
        self._jitter_seconds = jitter_ms / 1000
        self._random = random.Random(seed)

    @property
    def active(self) -> bool:
        return bool(self._base_seconds or self._jitter_seconds)

    def draw_seconds(self) -> float:
        """How long the next call waits: the latency plus a uniform share of the jitter."""
        return self._base_seconds + self._random.uniform(0.0, self._jitter_seconds)

    async def wait(self) -> None:
        if self.active:
            await asyncio.sleep(self.draw_seconds())
