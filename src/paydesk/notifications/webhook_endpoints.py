"""The shop's webhook endpoints over the API (shop key only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from paydesk.deps import AuthorizedRoute, ServicesDep, ShopKey
from paydesk.notifications import shop_webhooks
from paydesk.notifications.shop_webhooks import EndpointChanges
from paydesk.notifications.ssrf import UrlGuard
from paydesk.notifications.webhook_schemas import (
    WebhookEndpointCreate,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)

router = APIRouter(
    prefix="/api/webhook-endpoints", tags=["webhook endpoints"], route_class=AuthorizedRoute
)


def get_url_guard(request: Request, services: ServicesDep) -> UrlGuard:
    """The app's guard if it was given one (`app.state.webhook_url_guard`), else one that
    resolves through the system and allows the configured networks."""
    guard: UrlGuard | None = getattr(request.app.state, "webhook_url_guard", None)
    return guard or UrlGuard.of(services.settings.webhook_allowed_networks)


UrlGuardDep = Annotated[UrlGuard, Depends(get_url_guard)]


@router.post("", response_model=WebhookEndpointWithSecret, status_code=201)
async def create_webhook_endpoint(
    body: WebhookEndpointCreate, _shop: ShopKey, services: ServicesDep, guard: UrlGuardDep
) -> WebhookEndpointWithSecret:
    """Register an endpoint; the answer holds its signing secret, shown this once."""
    events = shop_webhooks.normalize_events(body.events)  # before any name is resolved
    url = await shop_webhooks.vetted_url(guard, body.url)
    endpoint = await services.webhook_endpoints.register(
        url=url, events=events, description=body.description
    )
    return WebhookEndpointWithSecret.with_secret(endpoint)


@router.get("", response_model=WebhookEndpointList)
async def list_webhook_endpoints(_shop: ShopKey, services: ServicesDep) -> WebhookEndpointList:
    endpoints = await services.webhook_endpoints.list_endpoints()
    return WebhookEndpointList(data=[WebhookEndpointOut.of(e) for e in endpoints])


@router.get("/{endpoint_id}", response_model=WebhookEndpointOut)
async def get_webhook_endpoint(
    endpoint_id: str, _shop: ShopKey, services: ServicesDep
) -> WebhookEndpointOut:
    return WebhookEndpointOut.of(await services.webhook_endpoints.get(endpoint_id))


@router.patch("/{endpoint_id}", response_model=WebhookEndpointOut)
async def update_webhook_endpoint(
    endpoint_id: str,
    body: WebhookEndpointUpdate,
    _shop: ShopKey,
    services: ServicesDep,
    guard: UrlGuardDep,
) -> WebhookEndpointOut:
    """Change the URL, events, description or status; enabling clears a failure."""
    if body.events is not None:
        shop_webhooks.normalize_events(body.events)  # before any name is resolved
    changes = EndpointChanges(
        url=await shop_webhooks.vetted_url(guard, body.url) if body.url is not None else None,
        events=body.events,
        description=body.description,
        clear_description="description" in body.model_fields_set and body.description is None,
        status=body.status,
    )
    endpoint = await services.webhook_endpoints.update(endpoint_id, changes)
    return WebhookEndpointOut.of(endpoint)


@router.post("/{endpoint_id}/rotate-secret", response_model=WebhookEndpointWithSecret)
async def rotate_webhook_secret(
    endpoint_id: str, _shop: ShopKey, services: ServicesDep
) -> WebhookEndpointWithSecret:
    """A new signing secret, shown this once; the previous one signs too for 24 hours."""
    endpoint = await services.webhook_endpoints.rotate_secret(endpoint_id)
    return WebhookEndpointWithSecret.with_secret(endpoint)
