"""Recording Stripe Events as things change, and choosing which ones a list shows."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from paydesk.sandbox import objects
from paydesk.sandbox.errors import InvalidRequestError, StripeObject
from paydesk.sandbox.forms import Params
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.jsonbytes import kept_json
from paydesk.sandbox.params import optional_str, str_list
from paydesk.sandbox.store import SandboxStore

EVENT_TYPES = frozenset(
    {
        "payment_intent.created",
        "payment_intent.requires_action",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.amount_capturable_updated",
        "payment_intent.processing",
        "charge.pending",
        "charge.succeeded",
        "charge.failed",
        "charge.captured",
        "charge.expired",
        "charge.refunded",
        "charge.refund.updated",
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
        "refund.created",
        "refund.updated",
        "refund.failed",
        "radar.early_fraud_warning.created",
        "radar.early_fraud_warning.updated",
        "payout.created",
        "payout.updated",
        "payout.paid",
        "payout.failed",
    }
)


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who asked for a change: fills `event.request` and absolute URLs in responses."""

    request_id: str | None
    idempotency_key: str | None
    base_url: str
    # The caller's address and browser: what a mandate accepted through Stripe.js records.
    ip_address: str | None = None
    user_agent: str | None = None


def snapshot(obj: StripeObject) -> StripeObject:
    copied: StripeObject = orjson.loads(orjson.dumps(obj))
    return copied


def frozen(obj: StripeObject) -> orjson.Fragment:
    """The object as it is now, kept serialized: a third of the memory of a copied dict."""
    return orjson.Fragment(kept_json(obj))


def endpoint_wants(endpoint: StripeObject, event_type: str) -> bool:
    enabled: list[str] = endpoint["enabled_events"]
    return "*" in enabled or event_type in enabled


class EventLog:
    """Appends events to the store and queues them for every endpoint that wants them."""

    def __init__(self, store: SandboxStore, api_version: str) -> None:
        self._store = store
        self._api_version = api_version
        self.on_recorded: Callable[[StripeObject, list[str]], None] | None = None

    def record(
        self,
        event_type: str,
        obj: StripeObject,
        context: RequestContext | None,
        previous_attributes: dict[str, Any] | None = None,
    ) -> StripeObject:
        endpoints = [
            endpoint["id"]
            for endpoint in self._store.webhook_endpoints.newest_first()
            if endpoint["status"] == "enabled" and endpoint_wants(endpoint, event_type)
        ]
        event = objects.event(
            new_id("evt"),
            event_type=event_type,
            snapshot=frozen(obj),
            api_version=self._api_version,
            pending_webhooks=len(endpoints),
            request_id=context.request_id if context else None,
            idempotency_key=context.idempotency_key if context else None,
            previous_attributes=previous_attributes,
        )
        self._store.events.add(event)
        for endpoint_id in endpoints:
            self._store.pending_deliveries[(event["id"], endpoint_id)] = 0
        if self.on_recorded is not None and endpoints:
            self.on_recorded(event, endpoints)
        return event


def event_filter(params: Params) -> Callable[[StripeObject], bool]:
    """The predicate behind `GET /v1/events`' `type` and `types[]`; paginate reads `created`."""
    single = optional_str(params, "type")
    several = str_list(params, "types")
    if single and several:
        raise InvalidRequestError(
            "You may only specify one of these parameters: type, types.", param="types"
        )
    patterns = several or ([single] if single else [])

    def matches(event: StripeObject) -> bool:
        event_type: str = event["type"]
        return not patterns or any(_type_matches(pattern, event_type) for pattern in patterns)

    return matches


def _type_matches(pattern: str, event_type: str) -> bool:
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type
