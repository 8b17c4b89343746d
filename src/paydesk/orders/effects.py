"""What an order does when its payment changes: it takes the status the payment's gives it
(payments/state.py decides which; paydesk/effects.py passes it here), except that an
expired order leaves expiry only by being paid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from paydesk.orders.models import PAID_ORDER_STATUSES, OrderStatus
from paydesk.orders.repository import OrderRepository


class OrdersWork(Protocol):
    @property
    def orders(self) -> OrderRepository: ...


async def follow_payments(
    work: OrdersWork, statuses: Sequence[tuple[str, OrderStatus]]
) -> list[str]:
    """Sets each order (by id) to its status; of several for one order, the last given.

    An expired order stays expired (its PaymentIntent canceled or failing) unless its
    payment pays it after all, a confirmation having raced the expiry: it is then paid and
    flagged paid after expiry. Returns the ids of such orders."""
    latest = dict(statuses)
    paid = {i: status for i, status in latest.items() if status in PAID_ORDER_STATUSES}
    revived = await work.orders.pay_expired(paid)
    await work.orders.set_statuses(latest)
    return revived
