"""The shop's webhook endpoints: registered, listed, changed, their secrets rotated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import Units
from paydesk.notifications import shop_webhooks
from paydesk.notifications.models import ShopWebhookEndpoint
from paydesk.notifications.shop_webhooks import EndpointChanges, VettedUrl


class EndpointsWork(Protocol):
    @property
    def session(self) -> AsyncSession: ...


class WebhookEndpointService:
    def __init__(self, units: Units[EndpointsWork]) -> None:
        self.units = units

    async def register(
        self, *, url: VettedUrl, events: Sequence[str], description: str | None
    ) -> ShopWebhookEndpoint:
        """A new, enabled endpoint; its secret is shown to the shop once, by the caller."""
        async with self.units.writing() as work:
            return await shop_webhooks.register_endpoint(
                work.session, url=url, events=events, description=description
            )

    async def get(self, endpoint_id: str) -> ShopWebhookEndpoint:
        async with self.units.reading() as work:
            return await shop_webhooks.get_endpoint(work.session, endpoint_id)

    async def list_endpoints(self) -> list[ShopWebhookEndpoint]:
        async with self.units.reading() as work:
            return await shop_webhooks.list_endpoints(work.session)

    async def update(self, endpoint_id: str, changes: EndpointChanges) -> ShopWebhookEndpoint:
        async with self.units.writing() as work:
            return await shop_webhooks.update_endpoint(work.session, endpoint_id, changes)

    async def rotate_secret(self, endpoint_id: str) -> ShopWebhookEndpoint:
        """A new signing secret; the current one keeps signing beside it for a day."""
        async with self.units.writing() as work:
            return await shop_webhooks.rotate_secret(work.session, endpoint_id)
