"""Acting on early fraud warnings, in the worker, outside the unit of work that recorded
them (a refund is a call to Stripe).

A card issuer's early fraud warning often turns into a dispute, which costs its amount and
a dispute fee; refunding the charge first avoids both. A warned payment at or below
`auto_refund_max` (minor units of its currency) is refunded in full, with the reason
`fraudulent`; one above it, or every one when no threshold is set, is left to the operator,
who sees it under "Needs attention". The refund is keyed by the warning (`efw:<id>`), so a
warning told five times, replayed, or acted on by two workers at once refunds once."""

from __future__ import annotations

import logging
from typing import Generic, Protocol, TypeVar

from paydesk.db import Units
from paydesk.errors import PaydeskError, PaymentProviderUnavailable
from paydesk.fraud.models import FraudWarning, WarningAction
from paydesk.fraud.repository import FraudWarningRepository
from paydesk.payments.models import PaymentStatus
from paydesk.refunds.service import RefundService, RefundsWork

log = logging.getLogger(__name__)

# A payment in these statuses still has money a refund can give back.
_REFUNDABLE = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)


class FraudDeskWork(RefundsWork, Protocol):
    @property
    def fraud_warnings(self) -> FraudWarningRepository: ...


Work = TypeVar("Work", bound=FraudDeskWork)


def decide(warning: FraudWarning, status: str, amount: int, auto_refund_max: int | None) -> str:
    """What to do about the warning on a payment of `amount` in `status`."""
    if not warning.actionable or status not in _REFUNDABLE:
        return WarningAction.NONE
    if auto_refund_max is not None and amount <= auto_refund_max:
        return WarningAction.REFUND
    return WarningAction.OPERATOR


class FraudDesk(Generic[Work]):
    def __init__(
        self, units: Units[Work], refunds: RefundService[Work], *, auto_refund_max: int | None
    ) -> None:
        self.units = units
        self.refunds = refunds
        self.auto_refund_max = auto_refund_max

    async def act(self, *, limit: int = 100) -> int:
        """Decides each new warning, and refunds those to be refunded; returns how many
        warnings were settled. One Stripe cannot answer for waits for the next round."""
        async with self.units.writing() as work:
            waiting = await work.fraud_warnings.list_undecided(limit=limit)
            for warning in waiting:
                if warning.action is None:
                    payment = await work.payments.get(warning.payment_id)
                    assert payment is not None
                    warning.action = decide(
                        warning, payment.status, payment.amount, self.auto_refund_max
                    )
                    if warning.action != WarningAction.REFUND:
                        warning.outcome = _left(warning.action, payment.status)
            to_refund = [w.id for w in waiting if w.action == WarningAction.REFUND]
            payments = {w.id: w.payment_id for w in waiting}
        settled = len(waiting) - len(to_refund)
        for warning_id in to_refund:
            settled += await self._refund(warning_id, payments[warning_id])
        return settled

    async def _refund(self, warning_id: str, payment_id: str) -> int:
        try:
            refund = await self.refunds.refund(
                payment_id, amount=None, reason="fraudulent", client_key=f"efw:{warning_id}"
            )
        except PaymentProviderUnavailable as exc:
            log.warning("refund for fraud warning %s waits: %s", warning_id, exc.message)
            return 0
        except PaydeskError as exc:
            # Nothing left to refund (refunded or disputed meanwhile), or Stripe refused:
            # the operator sees why.
            refund_id, outcome = None, f"not refunded: {exc.message}"
            action = WarningAction.OPERATOR
        else:
            refund_id, outcome, action = refund.id, "refunded in full", WarningAction.REFUND
        async with self.units.writing() as work:
            warning = await work.fraud_warnings.get(warning_id, for_update=True)
            assert warning is not None
            warning.action, warning.refund_id, warning.outcome = action, refund_id, outcome
        log.info("fraud warning %s on payment %s: %s", warning_id, payment_id, outcome)
        return 1


def _left(action: str, status: str) -> str:
    if action == WarningAction.OPERATOR:
        return "left to the operator"
    return f"nothing to do: the payment is {status}"
