"""Orders: made by the shop, their total computed here from the items and checked against
what Stripe can charge; seen by the shop, or by the browser holding the checkout token."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from paydesk.db import Units, new_id, utcnow
from paydesk.errors import Conflict, InvalidRequest, NotFound
from paydesk.money import (
    MAXIMUM_CHARGE,
    MINIMUM_CHARGE,
    SUPPORTED_CURRENCIES,
    format_amount,
    step_refusal,
)
from paydesk.orders.models import UNPAID_ORDER_STATUSES, Order, OrderItem, OrderStatus
from paydesk.orders.repository import OrderRepository
from paydesk.orders.schemas import OrderCreate, OrderItemIn
from paydesk.principals import Customer, Principal, Shop, digest, new_checkout_token

DEFAULT_TTL = timedelta(hours=24)


class OrdersWork(Protocol):
    """What the order service needs of a unit of work."""

    @property
    def orders(self) -> OrderRepository: ...


def order_total(request: OrderCreate) -> int:
    """The new order's amount to charge (`items_total`)."""
    return items_total(request.items, request.currency)


def items_total(items: Sequence[OrderItemIn], currency: str) -> int:
    """The amount to charge, computed here from unit prices and quantities, and checked
    against what Stripe can charge in the currency: no less than its minimum, no more than
    its maximum, and in whole steps (three-decimal amounts end in 0)."""
    if currency not in SUPPORTED_CURRENCIES:
        raise InvalidRequest(
            f"Currency {currency!r} is not supported; use one of "
            f"{', '.join(sorted(SUPPORTED_CURRENCIES))}.",
            code="unsupported_currency",
            param="currency",
        )
    total = sum(item.unit_amount * item.quantity for item in items)
    minimum = MINIMUM_CHARGE[currency]
    if total < minimum:
        raise InvalidRequest(
            f"The order total {format_amount(total, currency)} is below Stripe's minimum "
            f"charge of {format_amount(minimum, currency)}.",
            code="amount_too_small",
            param="items",
        )
    if total > MAXIMUM_CHARGE:
        raise InvalidRequest(
            f"The order total {format_amount(total, currency)} is above Stripe's maximum "
            f"charge of {format_amount(MAXIMUM_CHARGE, currency)}.",
            code="amount_too_large",
            param="items",
        )
    off_step = step_refusal(total, currency)
    if off_step is not None:
        raise InvalidRequest(
            f"The order total {off_step}", code="invalid_charge_amount", param="items"
        )
    return total


def order_items(items: Sequence[OrderItemIn]) -> list[OrderItem]:
    """The rows of the order's items, in the order the shop listed them."""
    return [
        OrderItem(
            position=n,
            sku=item.sku,
            name=item.name,
            unit_amount=item.unit_amount,
            quantity=item.quantity,
        )
        for n, item in enumerate(items)
    ]


def has_expired(order: Order, now: datetime) -> bool:
    """The order expired, or is unpaid past its `expires_at` (the worker has yet to say)."""
    if order.status == OrderStatus.EXPIRED:
        return True
    return (
        order.status in UNPAID_ORDER_STATUSES
        and order.expires_at is not None
        and order.expires_at <= now
    )


def expired_refusal(order: Order) -> Conflict:
    return Conflict(
        f"Order {order.id} has expired: it was not paid in time. Ask the shop for a new one.",
        code="order_expired",
    )


async def visible_order(
    orders: OrderRepository,
    principal: Principal,
    order_id: str,
    *,
    for_update: bool = False,
    with_items: bool = False,
) -> Order:
    """The order, if this caller may see it; any other order is simply not found."""
    if isinstance(principal, Customer) and principal.order_id != order_id:
        raise NotFound(f"No order {order_id!r}.", param="order_id")
    order = await orders.get(order_id, for_update=for_update, with_items=with_items)
    if order is None:
        raise NotFound(f"No order {order_id!r}.", param="order_id")
    return order


class OrderService:
    def __init__(self, units: Units[OrdersWork], *, ttl: timedelta = DEFAULT_TTL) -> None:
        self.units = units
        # How long a new order waits to be paid, when the shop gives no `expires_at`.
        self.ttl = ttl

    async def create(self, shop: Shop, request: OrderCreate) -> tuple[Order, str]:
        """A new order awaiting payment, and its checkout token (returned this once)."""
        total = order_total(request)
        now = utcnow()
        if request.expires_at is not None and request.expires_at <= now:
            raise InvalidRequest(
                "expires_at must be in the future.", code="invalid_expires_at", param="expires_at"
            )
        token = new_checkout_token()
        order = Order(
            id=new_id("ord"),
            currency=request.currency,
            amount=total,
            customer_email=request.customer_email,
            capture_method=request.capture_method,
            checkout_token_hash=digest(token),
            api_key_id=shop.api_key_id,
            version=1,
            expires_at=request.expires_at or now + self.ttl,
            paid_after_expiry=False,
            created_at=now,
            items=order_items(request.items),
        )
        async with self.units.writing() as work:
            await work.orders.add(order)
        return order, token

    async def get(self, principal: Principal, order_id: str) -> Order:
        """The order with its items, for the shop or the browser holding its token."""
        async with self.units.reading() as work:
            return await visible_order(work.orders, principal, order_id, with_items=True)
