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
    """Sets each order (by id) to its status; of several for one order, the last given."""
    await work.orders.set_statuses(dict(statuses))
