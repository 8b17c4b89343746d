from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from paydesk.deps import AuthorizedRoute, ServicesDep, ShopKey
from paydesk.errors import InvalidRequest
from paydesk.ledger.models import LedgerKind
from paydesk.ledger.repository import Window
from paydesk.ledger.schemas import (
    Instant,
    LedgerPage,
    PaymentLedger,
    csv_filename,
    currency_filter,
    to_csv,
    wants_csv,
)

router = APIRouter(tags=["ledger"], route_class=AuthorizedRoute)

# Entry ids are 32-bit integers on PostgreSQL: a larger cursor names no entry, and is refused.
MAX_ENTRY_ID = 2**31 - 1

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "The page as JSON, or with `Accept: text/csv` the whole selection as CSV.",
    }
}


@router.get("/api/payments/{payment_id}/ledger", response_model=PaymentLedger)
async def payment_ledger(
    payment_id: str, principal: ShopKey, services: ServicesDep
) -> PaymentLedger:
    """The payment's money movements, oldest first, and its balance per currency (shop key)."""
    payment = await services.payments.visible(principal, payment_id)
    return PaymentLedger.of(payment.id, await services.ledger.for_payment(payment.id))


@router.get("/api/ledger", response_model=LedgerPage, responses=CSV_RESPONSE)
async def list_ledger(
    _shop: ShopKey,
    services: ServicesDep,
    start: Annotated[Instant | None, Query(alias="from")] = None,
    end: Annotated[Instant | None, Query(alias="to")] = None,
    currency: str | None = None,
    kind: LedgerKind | None = None,
    cursor: Annotated[int | None, Query(ge=0, le=MAX_ENTRY_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> LedgerPage | Response:
    """Ledger entries created from `from` (inclusive) to `to` (exclusive), oldest first, with
    totals per currency and kind over the whole selection (shop key).

    `from` and `to` are ISO 8601 datetimes (`2026-03-01T00:00:00Z`, `2026-03-01T09:00:00+09:00`);
    one without a UTC offset is taken as UTC. Either may be left out for an open end.

    With `Accept: text/csv` the whole selection (no pages: `cursor` and `limit` are ignored)
    comes as a CSV file; a selection of more than 100,000 entries is refused with 400."""
    if start is not None and end is not None and start > end:
        raise InvalidRequest("`from` must not be after `to`.", code="invalid_range", param="from")
    window = Window(start=start, end=end, currency=currency_filter(currency), kind=kind)
    if wants_csv(accept):
        return await _csv(services, window)
    page = await services.ledger.page(window, after_id=cursor, limit=limit)
    return LedgerPage.of(page.rows, page.next_cursor, page.totals, page.settlement)


async def _csv(services: ServicesDep, window: Window) -> Response:
    window, rows = await services.ledger.export(window)
    filename = csv_filename(window.start, window.end)
    return Response(
        to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
