from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from paydesk.auth.service import Customer, Principal, Shop, digest, new_checkout_token
from paydesk.db import new_id
from paydesk.errors import InvalidRequest, NotFound
from paydesk.money import MAXIMUM_CHARGE, MINIMUM_CHARGE, SUPPORTED_CURRENCIES, format_amount
from paydesk.orders.models import Order, OrderItem
from paydesk.orders.schemas import OrderCreate


def order_total(request: OrderCreate) -> int:
    """The amount to charge, computed here from unit prices and quantities, and checked
    against what Stripe can charge in the currency."""
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
    return total


async def create_order(
    session: AsyncSession, shop: Shop, request: OrderCreate
) -> tuple[Order, str]:
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
    session.add(order)
    await session.flush()
    return order, token


async def get_order(
    session: AsyncSession,
    principal: Principal,
    order_id: str,
    *,
    for_update: bool = False,
    with_items: bool = False,
) -> Order:
    """The order, if this caller may see it; any other order is simply not found."""
    if isinstance(principal, Customer) and principal.order_id != order_id:
        raise NotFound(f"No order {order_id!r}.", param="order_id")
    query = select(Order).where(Order.id == order_id)
    if for_update:
        query = query.with_for_update()
    if with_items:
        query = query.options(selectinload(Order.items))
    order = await session.scalar(query)
    if order is None:
        raise NotFound(f"No order {order_id!r}.", param="order_id")
    return order


async def set_order_status(session: AsyncSession, order_id: str, status: str) -> Order:
    """Sets the order's status and returns the order, in one statement."""
    order: Order | None = await session.scalar(
        update(Order).where(Order.id == order_id).values(status=status).returning(Order)
    )
    if order is None:
        raise NotFound(f"No order {order_id!r}.", param="order_id")
    return order
