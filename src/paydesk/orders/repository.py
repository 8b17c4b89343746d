"""Every query on orders and their items."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from paydesk.orders.models import Order, OrderItem, OrderStatus


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, order_id: str, *, for_update: bool = False, with_items: bool = False
    ) -> Order | None:
        query = select(Order).where(Order.id == order_id)
        if for_update:
            query = query.with_for_update()
        if with_items:
            query = query.options(selectinload(Order.items))
        return await self.session.scalar(query)

    async def get_id_by_checkout_token_hash(self, token_hash: str) -> str | None:
        return await self.session.scalar(
            select(Order.id).where(Order.checkout_token_hash == token_hash)
        )

    async def items(self, order_id: str, *, limit: int) -> Sequence[OrderItem]:
        """The order's first `limit` items, in the order the shop listed them."""
        rows = await self.session.scalars(
            select(OrderItem)
            .where(OrderItem.order_id == order_id)
            .order_by(OrderItem.position)
            .limit(limit)
        )
        return rows.all()

    async def add(self, order: Order) -> None:
        self.session.add(order)
        await self.session.flush()

    async def set_status(self, order_id: str, status: OrderStatus) -> None:
        await self.session.execute(update(Order).where(Order.id == order_id).values(status=status))
