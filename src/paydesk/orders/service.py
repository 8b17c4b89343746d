"""Orders: made by the shop, their total computed here from the items and checked against
what Stripe can charge; seen by the shop, or by the browser holding the checkout token."""

from __future__ import annotations

from typing import Protocol

from paydesk.db import Units, new_id
from paydesk.errors import InvalidRequest, NotFound
from paydesk.money import (
    MAXIMUM_CHARGE,
    MINIMUM_CHARGE,
    SUPPORTED_CURRENCIES,
    format_amount,
    step_refusal,
)
from paydesk.orders.models import Order, OrderItem
from paydesk.orders.repository import OrderRepository
from paydesk.orders.schemas import OrderCreate
from paydesk.principals import Customer, Principal, Shop, digest, new_checkout_token


class OrdersWork(Protocol):
    """What the order service needs of a unit of work."""

    @property
    def orders(self) -> OrderRepository: ...


def order_total(request: OrderCreate) -> int:
    """The amount to charge, computed here from unit prices and quantities, and checked
    against what Stripe can charge in the currency: no less than its minimum, no more than
    its maximum, and in whole steps (three-decimal amounts end in 0)."""
    currency = request.currency
    if currency not in SUPPORTED_CURRENCIES:
        raise InvalidRequest(
            f"Currency {currency!r} is not supported; use one of "
            f"{', '.join(sorted(SUPPORTED_CURRENCIES))}.",
            code="unsupported_currency",
            param="currency",
        )
    total = sum(item.unit_amount * item.quantity for item in request.items)
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
    def __init__(self, units: Units[OrdersWork]) -> None:
        self.units = units

    async def create(self, shop: Shop, request: OrderCreate) -> tuple[Order, str]:
        """A new order awaiting payment, and its checkout token (returned this once)."""
        total = order_total(request)
        token = new_checkout_token()
        order = Order(
            id=new_id("ord"),
            currency=request.currency,
            amount=total,
            customer_email=request.customer_email,
            capture_method=request.capture_method,
            checkout_token_hash=digest(token),
            api_key_id=shop.api_key_id,
            items=[
                OrderItem(
                    position=n,
                    sku=item.sku,
                    name=item.name,
                    unit_amount=item.unit_amount,
                    quantity=item.quantity,
                )
                for n, item in enumerate(request.items)
            ],
        )
        async with self.units.writing() as work:
            await work.orders.add(order)
        return order, token

    async def get(self, principal: Principal, order_id: str) -> Order:
        """The order with its items, for the shop or the browser holding its token."""
        async with self.units.reading() as work:
            return await visible_order(work.orders, principal, order_id, with_items=True)
