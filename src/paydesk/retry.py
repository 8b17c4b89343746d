"""How work that failed is tried again: exponential backoff with jitter, up to a number of
attempts (webhook events, e-mails, shop webhooks each have their own)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 3600.0

    def delay(self, attempts: int) -> float:
        """Exponential, with jitter so that many failures do not come back together."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2.0 ** (attempts - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)
