"""Changing an unpaid order's items: the total follows, and so does the amount of its open
PaymentIntent, updated in place (same id, same client secret), never a second one.

Stripe is asked first, outside any unit of work, with a key per order version: two changes
racing for one version make one update at Stripe (the other is refused, or, the same
change sent twice, gets the same answer). Stripe's answer decides a change racing the
customer's confirmation. If the confirmation went first, Stripe refuses the new amount and
the order stays as it was, paid for what it was. If the update went first, the customer is
charged the new amount; should that success be recorded before the change (the payment
then held for review, its amount not the order's), the change's unit of work derives the
payment's status again with the new amount and releases it. An order is never marked paid
for an amount it no longer has."""

from __future__ import annotations

from typing import Generic

from paydesk.db import Units, utcnow
from paydesk.errors import Conflict
from paydesk.gateway.base import Gateway
from paydesk.gateway.types import IntentSnapshot
from paydesk.money import format_amount
from paydesk.orders.models import UNPAID_ORDER_STATUSES, Order
from paydesk.orders.schemas import OrderUpdate
from paydesk.orders.service import (
    expired_refusal,
    has_expired,
    items_total,
    order_items,
    visible_order,
)
from paydesk.payments.facts import intent_fact
from paydesk.payments.models import Cause, Payment, PaymentEvent, PaymentStatus
from paydesk.payments.service import FactRecorder, Work, now_ms
from paydesk.principals import Shop

# An order whose payment is in one of these can still change: nothing is confirmed.
_CHANGEABLE_PAYMENTS = (PaymentStatus.PENDING, PaymentStatus.FAILED)


def change_refusal(order: Order, payment: Payment | None) -> Conflict | None:
    """Why the order's items cannot change now, as the error the change raises."""
    if has_expired(order, utcnow()):
        return expired_refusal(order)
    if order.status not in UNPAID_ORDER_STATUSES:
        return Conflict(
            f"Order {order.id} is {order.status}: only an unpaid order can change.",
            code="order_not_changeable",
        )
    if payment is not None and payment.status not in _CHANGEABLE_PAYMENTS:
        return Conflict(
            f"Order {order.id} cannot change: its payment {payment.id} is {payment.status} "
            "(the customer's confirmation has started).",
            code="order_not_changeable",
        )
    return None


class OrderChanges(Generic[Work]):
    def __init__(self, units: Units[Work], gateway: Gateway, recorder: FactRecorder[Work]) -> None:
        self.units = units
        self.gateway = gateway
        self.recorder = recorder

    async def change_items(self, shop: Shop, order_id: str, request: OrderUpdate) -> Order:
        """The order with its new items and total, at its next version."""
        async with self.units.reading() as work:
            order = await visible_order(work.orders, shop, order_id)
            payment = await work.payments.get_open_for_order(order.id)
        refusal = change_refusal(order, payment)
        if refusal is not None:
            raise refusal
        total = items_total(request.items, order.currency)
        version = order.version + 1
        intent_id = payment.stripe_payment_intent_id if payment else None
        intent = None
        if intent_id is not None:
            intent = await self._update_intent(order, intent_id, total, version)
        observed_at = now_ms()
        async with self.units.writing() as work:
            order = await visible_order(work.orders, shop, order_id, for_update=True)
            payment = await work.payments.get_open_for_order(order.id)
            if payment is not None:
                payment = await work.payments.get(payment.id, for_update=True)
            now_intent = payment.stripe_payment_intent_id if payment else None
            if order.version != version - 1 or now_intent != intent_id:
                raise Conflict(
                    f"Order {order.id} changed meanwhile (its payment started, or another "
                    "change came first): read it again and retry.",
                    code="order_changed_meanwhile",
                )
            if intent is None:
                # No PaymentIntent was asked to follow: nothing at Stripe has this order's
                # amount yet, so the checks made before still decide.
                refusal = change_refusal(order, payment)
                if refusal is not None:
                    raise refusal
            before = order.amount
            await work.orders.replace_items(order, order_items(request.items))
            order.amount, order.version = total, version
            if payment is not None:
                payment.amount = total
                await work.payments.add_timeline_entries([_changed_entry(payment, order, before)])
                if intent is not None:
                    await self.recorder.record(
                        work,
                        payment,
                        [intent_fact(intent, observed_at)],
                        cause=Cause.API,
                        intent=intent,
                    )
            return order

    async def _update_intent(
        self, order: Order, intent_id: str, total: int, version: int
    ) -> IntentSnapshot:
        try:
            return await self.gateway.update_payment_intent(
                intent_id,
                amount=total,
                metadata={"paydesk_order_version": str(version)},
                idempotency_key=f"paydesk-{order.id}-v{version}",
            )
        except Conflict as refused:
            if refused.code == "stripe_request_in_progress":
                raise Conflict(
                    f"Another change of order {order.id} is under way: read it again and retry.",
                    code="order_changed_meanwhile",
                ) from None
            raise Conflict(
                f"Order {order.id} cannot change: Stripe says its payment has gone past the "
                f"point where the amount can change ({refused.message})",
                code="order_not_changeable",
            ) from None


def _changed_entry(payment: Payment, order: Order, before: int) -> PaymentEvent:
    """The timeline's record of the change: the status stays, the amount moves."""
    return PaymentEvent(
        payment_id=payment.id,
        from_status=payment.status,
        to_status=payment.status,
        cause=Cause.API,
        detail=f"order changed (version {order.version}): "
        f"{format_amount(before, order.currency)} → {format_amount(order.amount, order.currency)}",
    )
