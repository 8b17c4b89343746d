"""The payments list: newest first, filtered by a GET form, paged by payment id, read
through the payments' read model (read_payments.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.money import SUPPORTED_CURRENCIES
from paydesk.payments.models import PaymentStatus
from paydesk.web.dashboard.common import OperatorDep, PaymentReadsDep, page
from paydesk.web.dashboard.read_payments import PaymentPage, PaymentSearch

router = APIRouter(prefix="/dashboard", include_in_schema=False)

PAGE_SIZE = 25
MAX_FIELD = 320  # the longest e-mail address; every id is shorter
_PAYMENT_ID = re.compile(r"pay_[0-9a-f]{28}")


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters as the operator typed them (kept in the form and in page links)."""

    status: str = ""
    currency: str = ""
    created_from: str = ""
    created_to: str = ""
    order_id: str = ""
    email: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, request: Request) -> Filters:
        params = request.query_params
        return cls(**{f.name: params.get(f.name, "").strip() for f in fields(cls)})

    def query(self, **cursor: str) -> str:
        """The query string of these filters, plus a page cursor."""
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        return urlencode({k: v for k, v in {**given, **cursor}.items() if v})

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def search(self) -> tuple[PaymentSearch, list[str]]:
        """What to look for, and what is wrong with the filters, in words."""
        errors: list[str] = []
        for f in fields(self):
            if len(getattr(self, f.name)) > MAX_FIELD:
                errors.append(f"The {_LABELS[f.name]} filter is too long.")
        status = self.status or None
        if status is not None and status not in {s.value for s in PaymentStatus}:
            errors.append(f"“{self.status}” is not a payment status.")
        currency = self.currency.lower() or None
        if currency is not None and currency not in SUPPORTED_CURRENCIES:
            errors.append(
                f"“{self.currency}” is not a currency paydesk takes: use a three-letter "
                "code such as EUR, USD or JPY."
            )
        start = _date(self.created_from, "From", errors)
        end = _date(self.created_to, "To", errors)
        if start is not None and end is not None and start > end:
            errors.append("The “From” date is after the “To” date.")
        search = PaymentSearch(
            status=status,
            currency=currency,
            created_from=_midnight(start),
            # The last day of the calendar has no next day: nothing is created after it.
            created_before=_midnight(end + timedelta(days=1)) if end and end < date.max else None,
            order_id=self.order_id or None,
            customer_email=self.email or None,
            text=self.q or None,
        )
        return search, errors


_LABELS = {
    "status": "status",
    "currency": "currency",
    "created_from": "From date",
    "created_to": "To date",
    "order_id": "order id",
    "email": "customer e-mail",
    "q": "search",
}


def _date(text: str, label: str, errors: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(f"The “{label}” date “{text}” is not a date: use YYYY-MM-DD.")
        return None


def _midnight(day: date | None) -> datetime | None:
    """The start of `day` in UTC, as the dashboard speaks UTC."""
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


def _cursor(value: str | None, errors: list[str]) -> str | None:
    if value is None:
        return None
    if not _PAYMENT_ID.fullmatch(value):
        errors.append("That page link is not valid: start again from the newest payments.")
        return None
    return value


@router.get("/payments", response_class=HTMLResponse)
async def payments_list(
    request: Request, operator: OperatorDep, reads: PaymentReadsDep
) -> Response:
    filters = Filters.from_query(request)
    search, errors = filters.search()
    before = _cursor(request.query_params.get("before"), errors)
    after = _cursor(request.query_params.get("after"), errors)
    if before is not None and after is not None:
        errors.append("That page link is not valid: start again from the newest payments.")
    listing = PaymentPage([], has_newer=False, has_older=False)
    if not errors:
        listing = await reads.search(search, before_id=before, after_id=after, limit=PAGE_SIZE)
    rows = listing.rows
    context = {
        "section": "payments",
        "filters": filters,
        "statuses": list(PaymentStatus),
        "errors": errors,
        "rows": rows,
        "paged": before is not None or after is not None,
        "newer_url": f"?{filters.query(after=rows[0].id)}" if listing.has_newer else None,
        "older_url": f"?{filters.query(before=rows[-1].id)}" if listing.has_older else None,
        "first_url": f"?{filters.query()}",
    }
    status = 400 if errors else 200
    return page("payments.html", context, operator=operator, request=request, status_code=status)
