from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, WithJsonSchema

from paydesk.notifications.models import EndpointStatus, ShopWebhookEndpoint
from paydesk.notifications.shop_webhooks import ALL_EVENTS, EVENT_TYPES, event_types
from paydesk.notifications.ssrf import MAX_URL_LENGTH
from paydesk.validation import RequestModel

Url = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL_LENGTH)]
EventType = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# What the events may be, for the schema: the check itself names an unknown one in words.
Events = Annotated[
    list[EventType],
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "string", "enum": [*EVENT_TYPES, ALL_EVENTS]},
            "minItems": 1,
            "maxItems": 20,
        }
    ),
]
Description = Annotated[str, StringConstraints(max_length=500)]


class WebhookEndpointCreate(RequestModel):
    url: Url = Field(description="An http(s) URL on the public internet, without credentials.")
    events: Events = Field(
        max_length=20, description="Event types to receive, such as `payment.succeeded`, or `*`."
    )
    description: Description | None = None


class WebhookEndpointUpdate(RequestModel):
    url: Url | None = None
    events: Events | None = Field(default=None, max_length=20)
    description: Description | None = None
    status: EndpointStatus | None = Field(
        default=None,
        description="`enabled` again after paydesk disabled a failing endpoint, or `disabled`.",
    )


class WebhookEndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    status: str
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the previous secret signs too, after a rotation."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, endpoint: ShopWebhookEndpoint) -> WebhookEndpointOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            events=event_types(endpoint),
            description=endpoint.description,
            status=endpoint.status,
            disabled_reason=endpoint.disabled_reason,
            failing_since=endpoint.failing_since,
            previous_secret_expires_at=endpoint.previous_secret_expires_at
            if endpoint.previous_secret
            else None,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )


class WebhookEndpointWithSecret(WebhookEndpointOut):
    secret: str = Field(
        description="The signing secret (Standard Webhooks). Shown only now: store it."
    )

    @classmethod
    def with_secret(cls, endpoint: ShopWebhookEndpoint) -> WebhookEndpointWithSecret:
        return cls(**WebhookEndpointOut.of(endpoint).model_dump(), secret=endpoint.secret)


class WebhookEndpointList(BaseModel):
    data: list[WebhookEndpointOut]
