"""The payouts: the list, newest first, filtered by status and paged by payout id, and one
payout with the balance transactions it paid out and whether they add up to it, read
through the payout service (`PayoutService.list_views`, `.view`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.deps import ServicesDep
from paydesk.errors import InvalidRequest, NotFound
from paydesk.payouts.models import PayoutStatus
from paydesk.payouts.repository import PaidOut, PayoutFilter
from paydesk.payouts.service import PayoutView
from paydesk.web.dashboard.common import OperatorDep, page

router = APIRouter(prefix="/dashboard", include_in_schema=False)

PAGE_SIZE = 25
MAX_ID = 255  # a payout id's column
_BAD_CURSOR = "That page link is not valid: start again from the newest payouts."


@dataclass(frozen=True, slots=True)
class Totals:
    """What a payout's transactions moved before Stripe's fees, the fees, and the net."""

    amount: int
    fee: int
    net: int


def totals(transactions: Iterable[PaidOut]) -> Totals:
    amount = fee = net = 0
    for txn in transactions:
        amount, fee, net = amount + txn.amount, fee + txn.fee, net + txn.net
    return Totals(amount, fee, net)


@router.get("/payouts", response_class=HTMLResponse)
async def payouts_list(request: Request, operator: OperatorDep, services: ServicesDep) -> Response:
    status = request.query_params.get("status", "").strip()
    after = request.query_params.get("after")
    errors: list[str] = []
    if status and status not in {s.value for s in PayoutStatus}:
        errors.append(f"“{status[:MAX_ID]}” is not a payout status.")
    if after is not None and not 0 < len(after) <= MAX_ID:
        errors.append(_BAD_CURSOR)
    views: list[PayoutView] = []
    next_cursor: str | None = None
    if not errors:
        try:
            views, next_cursor = await services.payouts.list_views(
                PayoutFilter(status=status or None), after_id=after, limit=PAGE_SIZE
            )
        except InvalidRequest:  # the cursor names no payout
            errors.append(_BAD_CURSOR)
    filters = {"status": status} if status and not errors else {}
    context = {
        "section": "payouts",
        "status": status,
        "statuses": list(PayoutStatus),
        "errors": errors,
        "views": views,
        "older_url": f"?{urlencode({**filters, 'after': next_cursor})}" if next_cursor else None,
        "first_url": f"?{urlencode(filters)}" if after is not None else None,
    }
    code = 400 if errors else 200
    return page("payouts.html", context, operator=operator, request=request, status_code=code)


@router.get("/payouts/{payout_id}", response_class=HTMLResponse)
async def payout_page(
    payout_id: str, request: Request, operator: OperatorDep, services: ServicesDep
) -> Response:
    try:
        view = await services.payouts.view(payout_id)
    except NotFound:
        missing = {
            "section": "payouts",
            "message": f"There is no payout {payout_id}.",
            "back_url": "/dashboard/payouts",
            "back_label": "Back to payouts",
        }
        return page("not_found.html", missing, operator=operator, request=request, status_code=404)
    transactions = view.transactions or []
    context = {
        "section": "payouts",
        "view": view,
        "payout": view.payout,
        "transactions": transactions,
        "totals": totals(transactions),
    }
    return page("payout.html", context, operator=operator, request=request)
