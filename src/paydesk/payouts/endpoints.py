from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from paydesk.deps import AuthorizedRoute, IdQuery, ServicesDep, ShopKey
from paydesk.errors import InvalidRequest
from paydesk.ledger.schemas import Instant, wants_csv
from paydesk.openapi import errors
from paydesk.payouts.models import PayoutStatus
from paydesk.payouts.repository import PayoutFilter
from paydesk.payouts.schemas import BalanceOut, PayoutDetail, PayoutList, PayoutOut, payout_csv

router = APIRouter(tags=["payouts"], route_class=AuthorizedRoute)

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "The payout as JSON, or with `Accept: text/csv` what it paid out as CSV.",
    },
    **errors(404),
}


@router.get("/api/payouts", response_model=PayoutList)
async def list_payouts(
    _shop: ShopKey,
    services: ServicesDep,
    status: PayoutStatus | None = None,
    start: Annotated[Instant | None, Query(alias="from")] = None,
    end: Annotated[Instant | None, Query(alias="to")] = None,
    cursor: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PayoutList:
    """Payouts, newest first (shop key), by `status`, arriving at the bank from `from`
    (inclusive) to `to` (exclusive), ISO 8601 datetimes."""
    if start is not None and end is not None and start > end:
        raise InvalidRequest("`from` must not be after `to`.", code="invalid_range", param="from")
    views, next_cursor = await services.payouts.list_views(
        PayoutFilter(status=status, start=start, end=end), after_id=cursor, limit=limit
    )
    return PayoutList(data=[PayoutOut.of(v) for v in views], next_cursor=next_cursor)


@router.get("/api/payouts/{payout_id}", response_model=PayoutDetail, responses=CSV_RESPONSE)
async def get_payout(
    payout_id: str,
    _shop: ShopKey,
    services: ServicesDep,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> PayoutDetail | Response:
    """One payout with the balance transactions it paid out and the orders they belong to
    (shop key). With `Accept: text/csv`, those transactions as a CSV file whose `net`
    column sums to the payout's amount."""
    view = await services.payouts.view(payout_id)
    if wants_csv(accept):
        return Response(
            payout_csv(view.transactions or []),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="paydesk-{view.payout.id}.csv"'},
        )
    return PayoutDetail.of_detail(view)


@router.get("/api/balance", response_model=BalanceOut)
async def get_balance(_shop: ShopKey, services: ServicesDep) -> BalanceOut:
    """The Stripe balance as paydesk has recorded it (shop key): per settlement currency,
    what is available to pay out and what is still pending."""
    return BalanceOut.of(await services.payouts.balance())
