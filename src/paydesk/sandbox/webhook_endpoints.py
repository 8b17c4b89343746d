"""Webhook endpoints: where events are delivered, each with its signing secret."""

from paydesk.sandbox import objects
from paydesk.sandbox.config import WebhookEndpointConfig
from paydesk.sandbox.errors import InvalidRequestError, ResourceMissingError, StripeObject
from paydesk.sandbox.events import EVENT_TYPES
from paydesk.sandbox.forms import Params
from paydesk.sandbox.ids import new_id, random_token
from paydesk.sandbox.listing import LIST_PARAMS, paginate
from paydesk.sandbox.params import (
    merge_metadata,
    optional_bool,
    optional_str,
    reject_unknown,
    required_str,
    str_list,
)
from paydesk.sandbox.store import SandboxStore

CREATE_PARAMS = frozenset(
    {"url", "enabled_events", "description", "metadata", "api_version", "expand", "connect"}
)
UPDATE_PARAMS = frozenset(
    {"url", "enabled_events", "description", "metadata", "disabled", "expand"}
)


def register_endpoint(
    store: SandboxStore, config: WebhookEndpointConfig, api_version: str | None = None
) -> StripeObject:
    endpoint = objects.webhook_endpoint(
        new_id("we"),
        url=config.url,
        enabled_events=list(config.enabled_events),
        api_version=api_version,
        description=None,
        metadata={},
    )
    store.webhook_secrets[endpoint["id"]] = config.secret
    return store.webhook_endpoints.add(endpoint)


def create_endpoint(store: SandboxStore, params: Params) -> StripeObject:
    """Create an endpoint; only this answer carries its `secret`, as with Stripe."""
    reject_unknown(params, CREATE_PARAMS)
    url = required_str(params, "url")
    enabled_events = _enabled_events(params, required=True)
    secret = f"whsec_{random_token(32)}"
    endpoint = register_endpoint(
        store,
        WebhookEndpointConfig(
            url=_valid_url(url), secret=secret, enabled_events=tuple(enabled_events)
        ),
        api_version=optional_str(params, "api_version"),
    )
    endpoint.update(
        description=optional_str(params, "description"),
        metadata=merge_metadata({}, params),
    )
    return {**endpoint, "secret": secret}


def retrieve_endpoint(store: SandboxStore, we_id: str) -> StripeObject:
    endpoint = store.webhook_endpoints.get(we_id)
    if endpoint is None:
        raise ResourceMissingError("webhook_endpoint", we_id)
    return endpoint


def update_endpoint(store: SandboxStore, we_id: str, params: Params) -> StripeObject:
    reject_unknown(params, UPDATE_PARAMS)
    endpoint = retrieve_endpoint(store, we_id)
    if "url" in params:
        endpoint["url"] = _valid_url(required_str(params, "url"))
    if "enabled_events" in params:
        endpoint["enabled_events"] = _enabled_events(params, required=True)
    if "description" in params:
        endpoint["description"] = optional_str(params, "description")
    disabled = optional_bool(params, "disabled")
    if disabled is not None:
        endpoint["status"] = "disabled" if disabled else "enabled"
    endpoint["metadata"] = merge_metadata(endpoint["metadata"], params)
    return endpoint


def delete_endpoint(store: SandboxStore, we_id: str) -> StripeObject:
    retrieve_endpoint(store, we_id)
    store.webhook_endpoints.remove(we_id)
    store.webhook_secrets.pop(we_id, None)
    return objects.deleted(we_id, "webhook_endpoint")


def list_endpoints(store: SandboxStore, params: Params) -> StripeObject:
    reject_unknown(params, LIST_PARAMS)
    return paginate(store.webhook_endpoints, params, "/v1/webhook_endpoints", "webhook_endpoint")


def _enabled_events(params: Params, *, required: bool) -> list[str]:
    events = str_list(params, "enabled_events")
    if not events and required:
        raise InvalidRequestError(
            "Missing required param: enabled_events.",
            code="parameter_missing",
            param="enabled_events",
        )
    for event_type in events:
        known = event_type == "*" or event_type in EVENT_TYPES or "." in event_type
        if not known:
            raise InvalidRequestError(
                f"Invalid enabled_events: {event_type} is not a valid event type.",
                param="enabled_events",
            )
    return events


def _valid_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise InvalidRequestError(f"Invalid URL: {url}", code="url_invalid", param="url")
    return url
