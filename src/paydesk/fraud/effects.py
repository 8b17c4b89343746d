"""What an early fraud warning causes in the unit of work that records it: the warning is
kept, once (paydesk/effects.py runs this, then tells the shop)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from paydesk.fraud.repository import FraudWarningRepository
from paydesk.payments.changes import FraudWarned


class FraudWork(Protocol):
    @property
    def fraud_warnings(self) -> FraudWarningRepository: ...


async def record_warnings(work: FraudWork, changes: Sequence[FraudWarned]) -> None:
    await work.fraud_warnings.record([(c.payment.id, c.warning) for c in changes])
