"""Every query on orders and their items."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from paydesk.orders.models import UNPAID_ORDER_STATUSES, Order, OrderItem, OrderStatus

# The statements of the payment path, built once.
_BY_ID = select(Order).where(Order.id == bindparam("order_id"))
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()
_BY_CHECKOUT_TOKEN = select(Order.id).where(Order.checkout_token_hash == bindparam("token_hash"))
# Core statements over the table, for updates of many rows by one statement (executemany).
_ORDERS = cast(Table, Order.__table__)
_SET_STATUS = (
    update(_ORDERS)
    .where(Order.id == bindparam("b_id"), Order.status != OrderStatus.EXPIRED)
    .values(status=bindparam("b_status"))
)
_CUSTOMER_EMAILS = select(Order.id, Order.customer_email).where(
    Order.id.in_(bindparam("order_ids", expanding=True))
)


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, order_id: str, *, for_update: bool = False, with_items: bool = False
    ) -> Order | None:
        query = _BY_ID_FOR_UPDATE if for_update else _BY_ID
        if with_items:
            query = query.options(selectinload(Order.items))
        return await self.session.scalar(query, {"order_id": order_id})

    async def get_id_by_checkout_token_hash(self, token_hash: str) -> str | None:
        return await self.session.scalar(_BY_CHECKOUT_TOKEN, {"token_hash": token_hash})

    async def items_of(self, order_ids: Collection[str]) -> dict[str, list[OrderItem]]:
        """Each order's items, in the order the shop listed them."""
        found: dict[str, list[OrderItem]] = {order_id: [] for order_id in order_ids}
        if order_ids:
            rows = await self.session.scalars(
                select(OrderItem)
                .where(OrderItem.order_id.in_(order_ids))
                .order_by(OrderItem.order_id, OrderItem.position)
            )
            for item in rows:
                found[item.order_id].append(item)
        return found

    async def customer_emails(self, order_ids: Collection[str]) -> dict[str, str]:
        if not order_ids:
            return {}
        rows = await self.session.execute(_CUSTOMER_EMAILS, {"order_ids": list(order_ids)})
        return {order_id: email for order_id, email in rows}

    async def statuses(self, order_ids: Collection[str]) -> dict[str, OrderStatus]:
        if not order_ids:
            return {}
        rows = await self.session.execute(
            select(Order.id, Order.status).where(Order.id.in_(order_ids))
        )
        return {order_id: OrderStatus(status) for order_id, status in rows}

    async def add(self, order: Order) -> None:
        self.session.add(order)
        await self.session.flush()

    async def set_statuses(self, statuses: Mapping[str, OrderStatus]) -> None:
        """Each order (by id) takes its status, in one statement; an expired order keeps
        its status (`pay_expired` is the one way out of it)."""
        if statuses:
            await self.session.execute(
                _SET_STATUS, [{"b_id": i, "b_status": status} for i, status in statuses.items()]
            )

    async def pay_expired(self, statuses: Mapping[str, OrderStatus]) -> list[str]:
        """Of these orders (by id, each with the paid status its payment gives it), those
        that had expired take their status and are flagged paid after expiry; their ids."""
        if not statuses:
            return []
        expired = list(
            await self.session.scalars(
                select(Order.id).where(
                    Order.id.in_(list(statuses)), Order.status == OrderStatus.EXPIRED
                )
            )
        )
        if expired:
            await self.session.execute(
                update(_ORDERS)
                .where(Order.id == bindparam("b_id"))
                .values(status=bindparam("b_status"), paid_after_expiry=True),
                [{"b_id": i, "b_status": statuses[i]} for i in expired],
            )
        return expired

    async def list_expiring(self, now: datetime, *, limit: int) -> list[str]:
        """Unpaid orders past their `expires_at`, oldest first."""
        rows = await self.session.scalars(
            select(Order.id)
            .where(Order.expires_at <= now, Order.status.in_(UNPAID_ORDER_STATUSES))
            .order_by(Order.expires_at)
            .limit(limit)
        )
        return list(rows)

    async def replace_items(self, order: Order, items: list[OrderItem]) -> None:
        """The order's items become `items`, and are loaded on it."""
        await self.session.execute(delete(OrderItem).where(OrderItem.order_id == order.id))
        for item in items:
            item.order_id = order.id
        self.session.add_all(items)
        await self.session.flush()
        await self.session.refresh(order, ["items"])
