from __future__ import annotations

from fastapi import APIRouter

from paydesk.deps import AuthorizedRoute, ServicesDep, ShopKey, ShopOrCheckout
from paydesk.orders.schemas import OrderCreate, OrderCreated, OrderOut, OrderUpdate

router = APIRouter(prefix="/api/orders", tags=["orders"], route_class=AuthorizedRoute)


@router.post("", status_code=201, response_model=OrderCreated)
async def create_order(body: OrderCreate, shop: ShopKey, services: ServicesDep) -> OrderCreated:
    """Create an order (shop key). The total is computed from the items."""
    order, token = await services.orders.create(shop, body)
    return OrderCreated(**OrderOut.of(order).model_dump(), checkout_token=token)


@router.patch(
    "/{order_id}",
    response_model=OrderOut,
    responses={409: {"description": "The order is paid, expired, or its payment confirming."}},
)
async def change_order(
    order_id: str, body: OrderUpdate, shop: ShopKey, services: ServicesDep
) -> OrderOut:
    """Replace an unpaid order's items (shop key; send an `Idempotency-Key`). The total
    follows, and so does its PaymentIntent's amount: same PaymentIntent, same client secret.
    Refused (409) once the customer's confirmation has started."""
    return OrderOut.of(await services.order_changes.change_items(shop, order_id, body))


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(order_id: str, principal: ShopOrCheckout, services: ServicesDep) -> OrderOut:
    """An order, for the shop, or for the browser holding its checkout token."""
    return OrderOut.of(await services.orders.get(principal, order_id))
