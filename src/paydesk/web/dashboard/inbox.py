"""The webhook inbox pages: every stored Stripe event, why it failed, and replaying it.

The pages read through the inbox's read model (read_inbox.py). Replaying only makes events
due again (`InboxService.replay`); a worker applies them, so the pages never run a handler
inside a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.deps import ServicesDep
from paydesk.operators.service import SignedIn
from paydesk.web.dashboard.common import FormDep, InboxReadsDep, OperatorDep, page, redirect
from paydesk.webhooks.models import EventStatus

router = APIRouter(prefix="/dashboard", include_in_schema=False)

PAGE_SIZE = 50
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
    reads: InboxReadsDep,
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
    listing = await reads.page(
        status=chosen, type_prefix=type_prefix, before=before, limit=PAGE_SIZE
    )
    counts = listing.counts
    status_links = [
        StatusLink("all", sum(counts.values()), _inbox_url("", type_prefix), chosen is None),
        *(StatusLink(s, counts[s], _inbox_url(s, type_prefix), chosen == s) for s in STATUS_ORDER),
    ]
    context = {
        "section": "webhooks",
        "events": listing.events,
        "status_links": status_links,
        "status": chosen,
        "type": type_prefix,
        "clear_type_url": _inbox_url(status, ""),
        "newest_url": _inbox_url(status, type_prefix) if before is not None else None,
        "older_url": (
            _inbox_url(status, type_prefix, before=listing.older) if listing.older else None
        ),
        "replayable": counts[EventStatus.FAILED] + counts[EventStatus.DEAD],
        "notice": None if replayed is None else f"Replayed {_events(replayed)}.",
    }
    return page("webhooks.html", context, operator=operator, request=request)


@router.post("/webhooks/replay-failed")
async def replay_failed(services: ServicesDep, _form: FormDep) -> Response:
    count = await services.events.replay(failed=True)
    return redirect(f"/dashboard/webhooks?replayed={count}")


@router.get("/webhooks/{event_id}", response_class=HTMLResponse)
async def event_page(
    request: Request,
    reads: InboxReadsDep,
    operator: OperatorDep,
    event_id: str,
    replayed: Annotated[bool, Query()] = False,
) -> Response:
    detail = await reads.event(event_id)
    if detail is None:
        return _not_found(request, operator, f"No Stripe event {event_id} is in the inbox.")
    context = {
        "section": "webhooks",
        "event": detail.event,
        "stripe_created_at": detail.stripe_created_at,
        "payment_id": detail.payment_id,
        "headers": detail.headers,
        "body": detail.body,
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
    if not await services.events.replay(event_ids=[event_id]):
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


def _not_found(request: Request, operator: SignedIn, message: str) -> Response:
    context = {
        "section": "webhooks",
        "message": message,
        "back_url": "/dashboard/webhooks",
        "back_label": "Back to the webhook inbox",
    }
    return page("not_found.html", context, operator=operator, request=request, status_code=404)
