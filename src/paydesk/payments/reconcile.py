"""Payments that have waited too long for news: ask Stripe where they stand."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from paydesk.db import utcnow
from paydesk.errors import PaydeskError
from paydesk.payments.models import Cause, Payment, PaymentStatus
from paydesk.payments.service import Observation, PaymentService, now_ms

log = logging.getLogger(__name__)

WAITING = (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION, PaymentStatus.PROCESSING)


async def reconcile(service: PaymentService, *, older_than: timedelta, limit: int = 500) -> int:
    """Retrieves every payment still waiting after `older_than` and applies what Stripe
    says; returns how many were checked. A payment Stripe cannot answer for is left for
    the next run."""
    async with service.db.sessions() as session:
        waiting = (
            await session.execute(
                select(Payment.id, Payment.stripe_payment_intent_id)
                .where(
                    Payment.status.in_(WAITING),
                    Payment.stripe_payment_intent_id.is_not(None),
                    Payment.updated_at < utcnow() - older_than,
                )
                .order_by(Payment.updated_at)
                .limit(limit)
            )
        ).all()
    checked = 0
    for payment_id, intent_id in waiting:
        assert intent_id is not None
        try:
            intent = await service.gateway.retrieve_payment_intent(intent_id)
            await service.apply(payment_id, Observation(intent, now_ms(), Cause.RECONCILE))
        except PaydeskError as exc:
            log.warning("reconciling payment %s failed: %s", payment_id, exc.message)
            continue
        checked += 1
    return checked
