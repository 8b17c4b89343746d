from __future__ import annotations

from fastapi import APIRouter

from paydesk.deps import AuthorizedRoute, ServicesDep, ShopKey, ShopOrCheckout
from paydesk.orders.schemas import OrderCreate, OrderCreated, OrderOut

router = APIRouter(prefix="/api/orders", tags=["orders"], route_class=AuthorizedRoute)


@router.post("", status_code=201, response_model=OrderCreated)
async def create_order(body: OrderCreate, shop: ShopKey, services: ServicesDep) -> OrderCreated:
    """Create an order (shop key). The total is computed from the items."""
    order, token = await services.orders.create(shop, body)
    return OrderCreated(**OrderOut.of(order).model_dump(), checkout_token=token)


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(order_id: str, principal: ShopOrCheckout, services: ServicesDep) -> OrderOut:
    """An order, for the shop, or for the browser holding its checkout token."""
    return OrderOut.of(await services.orders.get(principal, order_id))
