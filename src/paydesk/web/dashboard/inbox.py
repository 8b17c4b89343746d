"""The webhook inbox pages: every stored Stripe event, why it failed, and replaying it.

Replaying only makes events due again (`webhooks.operations.replay`); a worker applies
them, so the pages never run a handler inside a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.deps import ServicesDep
from paydesk.operators.service import SignedIn
from paydesk.web.dashboard.common import FormDep, OperatorDep, page, redirect
from paydesk.webhooks.models import EventStatus, InboxEvent
from paydesk.webhooks.operations import (
    count_by_status,
    get_event,
    list_events,
    payment_id_of,
    replay,
)

router = APIRouter(prefix="/dashboard", include_in_schema=False)

PAGE_SIZE = 50
# The receiver keeps only these; showing nothing else means a header added there later
# (an Authorization, a cookie) can never appear on a page by accident.
SHOWN_HEADERS = ("content-type", "stripe-signature", "user-agent")
# The order of the status filter: what needs an operator first.
STATUS_ORDER = (
    EventStatus.PENDING,
    EventStatus.FAILED,
    EventStatus.DEAD,
    EventStatus.IGNORED,
    EventStatus.PROCESSED,
)


@router.get("/webhooks", response_class=HTMLResponse)
async def inbox(
    request: Request,
    services: ServicesDep,
    operator: OperatorDep,
    status: Annotated[str, Query(max_length=16)] = "",
    event_type: Annotated[str, Query(alias="type", max_length=100)] = "",
    before: Annotated[str | None, Query(max_length=255)] = None,
    replayed: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    try:
        chosen = EventStatus(status) if status else None
    except ValueError:
        return _not_found(request, operator, f"There is no event status called “{status}”.")
    type_prefix = event_type.strip()
    events = await list_events(
        services.db, status=chosen, type_prefix=type_prefix, before=before, limit=PAGE_SIZE + 1
    )
    counts = await count_by_status(services.db)
    status_links = [
        StatusLink("all", sum(counts.values()), _inbox_url("", type_prefix), chosen is None),
        *(StatusLink(s, counts[s], _inbox_url(s, type_prefix), chosen == s) for s in STATUS_ORDER),
    ]
    older = events[PAGE_SIZE - 1].id if len(events) > PAGE_SIZE else None
    context = {
        "section": "webhooks",
        "events": events[:PAGE_SIZE],
        "status_links": status_links,
        "status": chosen,
        "type": type_prefix,
        "clear_type_url": _inbox_url(status, ""),
        "newest_url": _inbox_url(status, type_prefix) if before is not None else None,
        "older_url": _inbox_url(status, type_prefix, before=older) if older else None,
        "replayable": counts[EventStatus.FAILED] + counts[EventStatus.DEAD],
        "notice": None if replayed is None else f"Replayed {_events(replayed)}.",
    }
    return page("webhooks.html", context, operator=operator, request=request)


@router.post("/webhooks/replay-failed")
async def replay_failed(services: ServicesDep, _form: FormDep) -> Response:
    count = await replay(services.db, failed=True)
    return redirect(f"/dashboard/webhooks?replayed={count}")


@router.get("/webhooks/{event_id}", response_class=HTMLResponse)
async def event_page(
    request: Request,
    services: ServicesDep,
    operator: OperatorDep,
    event_id: str,
    replayed: Annotated[bool, Query()] = False,
) -> Response:
    event = await get_event(services.db, event_id)
    if event is None:
        return _not_found(request, operator, f"No Stripe event {event_id} is in the inbox.")
    context = {
        "section": "webhooks",
        "event": event,
        "stripe_created_at": datetime.fromtimestamp(event.stripe_created, UTC),
        "payment_id": await payment_id_of(services.db, event),
        "headers": _shown_headers(event),
        "body": orjson.dumps(masked(orjson.loads(event.body)), option=orjson.OPT_INDENT_2).decode(),
        "notice": "Replayed: this event is due again with a fresh count of attempts, "
        "and a worker applies it shortly."
        if replayed
        else None,
    }
    return page("webhook_event.html", context, operator=operator, request=request)


@router.post("/webhooks/{event_id}/replay")
async def replay_event(
    request: Request, services: ServicesDep, operator: OperatorDep, event_id: str, _form: FormDep
) -> Response:
    if not await replay(services.db, event_ids=[event_id]):
        return _not_found(request, operator, f"No Stripe event {event_id} is in the inbox.")
    return redirect(f"/dashboard/webhooks/{quote(event_id, safe='')}?replayed=1")


@dataclass(frozen=True)
class StatusLink:
    """One choice of the status filter: its name, how many events have it, where it goes."""

    status: str
    count: int
    url: str
    current: bool


def _inbox_url(status: str, event_type: str, *, before: str | None = None) -> str:
    """The inbox with these filters; empty ones are left out of the address."""
    fields = (("status", status), ("type", event_type), ("before", before))
    query = urlencode({name: value for name, value in fields if value})
    return f"/dashboard/webhooks?{query}" if query else "/dashboard/webhooks"


def _events(count: int) -> str:
    return "1 event" if count == 1 else f"{count} events"


# Shown to the customer's browser only: an operator reading an event has no use for it.
_MASKED_FIELDS = frozenset({"client_secret"})
MASK = "•••• (hidden)"


def masked(value: Any) -> Any:
    """A Stripe object with its client secrets hidden, at any depth."""
    if isinstance(value, dict):
        return {
            k: MASK if k in _MASKED_FIELDS and isinstance(v, str) else masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def _shown_headers(event: InboxEvent) -> list[tuple[str, str]]:
    stored: dict[str, str] = orjson.loads(event.headers)
    return [(name, value) for name, value in sorted(stored.items()) if name in SHOWN_HEADERS]


def _not_found(request: Request, operator: SignedIn, message: str) -> Response:
    context = {
        "section": "webhooks",
        "message": message,
        "back_url": "/dashboard/webhooks",
        "back_label": "Back to the webhook inbox",
    }
    return page("not_found.html", context, operator=operator, request=request, status_code=404)
