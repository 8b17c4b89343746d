"""What an order does when its payment changes: it takes the status the payment's gives it
(payments/state.py decides which; paydesk/effects.py passes it here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from paydesk.orders.models import OrderStatus
from paydesk.orders.repository import OrderRepository


class OrdersWork(Protocol):
    @property
    def orders(self) -> OrderRepository: ...


async def follow_payments(work: OrdersWork, statuses: Sequence[tuple[str, OrderStatus]]) -> None:
    """Sets each order (by id) to its status, in the order given."""
    for order_id, status in statuses:
        await work.orders.set_status(order_id, status)
