"""The overview at /dashboard: how payments went today and over the last 30 days (UTC), a
chart of each day, open disputes by evidence due date, and what needs an operator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.db import utcnow
from paydesk.deps import ServicesDep
from paydesk.payments.models import PaymentStatus
from paydesk.web.dashboard import stats
from paydesk.web.dashboard.chart import Day, bar_chart
from paydesk.web.dashboard.common import OperatorDep, page

router = APIRouter(prefix="/dashboard", include_in_schema=False)

DAYS = 30
URGENT = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One currency and status: payments created today, and in the last 30 days."""

    currency: str
    status: str
    today: stats.Tally
    month: stats.Tally


@dataclass(frozen=True, slots=True)
class DisputeRow:
    dispute: stats.OpenDispute
    due: str  # how the due date stands: "in 5 days", "overdue", …
    urgent: bool


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, services: ServicesDep, operator: OperatorDep) -> Response:
    now = utcnow()
    today = now.date()
    first_day = today - timedelta(days=DAYS - 1)
    since, today_start = _midnight(first_day), _midnight(today)
    async with services.db.sessions() as session:
        totals = await stats.payment_totals(session, since)
        month_refunds = await stats.ledger_totals_since(session, since)
        today_refunds = await stats.ledger_totals_since(session, today_start)
        disputes_open, disputes = await stats.open_disputes(session)
        attention = await stats.attention(session, since)
    month = stats.summarise(totals, stats.refunds_by_currency(month_refunds))
    today_period = stats.summarise(
        [t for t in totals if t.day == today], stats.refunds_by_currency(today_refunds)
    )
    days = daily(totals, first_day, today)
    context = {
        "section": "overview",
        "now": now,
        "today": today,
        "first_day": first_day,
        "today_period": today_period,
        "month": month,
        "status_rows": status_rows(today_period, month),
        "days": days,
        "chart": bar_chart(
            days,
            chart_id="daily-chart",
            title=f"Collected and failed payments per day, {first_day} to {today} (UTC)",
            ok_name="collected",
            bad_name="failed",
            empty="No payments in the last 30 days",
        ),
        "disputes_open": disputes_open,
        "disputes": [_dispute_row(d, now) for d in disputes],
        "attention": attention,
    }
    return page("overview.html", context, operator=operator, request=request)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def daily(totals: list[stats.DayTotal], first_day: date, last_day: date) -> list[Day]:
    """One `Day` per calendar day from `first_day` to `last_day`: collected and failed counts."""
    collected: dict[date, int] = {}
    failed: dict[date, int] = {}
    for total in totals:
        if total.status in stats.COLLECTED:
            collected[total.day] = collected.get(total.day, 0) + total.tally.count
        elif total.status == PaymentStatus.FAILED:
            failed[total.day] = failed.get(total.day, 0) + total.tally.count
    days = []
    day = first_day
    while day <= last_day:
        tick = f"{day.day} {day:%b}"
        days.append(Day(day.isoformat(), tick, collected.get(day, 0), failed.get(day, 0)))
        day += timedelta(days=1)
    return days


def status_rows(today: stats.Period, month: stats.Period) -> list[StatusRow]:
    """Every currency and status seen in 30 days; currencies with most payments first."""
    rank = {summary.currency: index for index, summary in enumerate(month.currencies)}
    keys = sorted(
        month.by_status,
        key=lambda key: (rank.get(key[0], len(rank)), key[0], stats.status_rank(key[1])),
    )
    return [
        StatusRow(
            currency,
            status,
            today.by_status.get((currency, status), stats.Tally()),
            month.by_status[(currency, status)],
        )
        for currency, status in keys
    ]


def _dispute_row(dispute: stats.OpenDispute, now: datetime) -> DisputeRow:
    due_by = dispute.evidence_due_by
    if dispute.evidence_submitted:
        return DisputeRow(dispute, "evidence submitted", urgent=False)
    if due_by is None:
        return DisputeRow(dispute, "no due date given", urgent=False)
    left = due_by - now
    if left < timedelta(0):
        return DisputeRow(dispute, "overdue", urgent=True)
    if left < timedelta(days=1):
        return DisputeRow(dispute, "due within a day", urgent=True)
    days = left.days
    return DisputeRow(dispute, f"in {days} day{'s' if days != 1 else ''}", urgent=left < URGENT)
