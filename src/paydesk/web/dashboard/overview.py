"""The overview at /dashboard: how payments went today and over the last 30 days (UTC), a
chart of each day, Stripe's fees, open disputes by evidence due date, and what needs an
operator (payouts that failed or do not reconcile, risky payments, fraud warnings,
authorizations about to lapse and orders paid after they expired among it).

The figures come from the overview's read model (read_overview.py); the summaries here are
pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.db import utcnow
from paydesk.deps import ServicesDep
from paydesk.payments.models import Payment, PaymentStatus
from paydesk.web.dashboard.chart import Day, bar_chart
from paydesk.web.dashboard.common import OperatorDep, OverviewReadsDep, page
from paydesk.web.dashboard.read_overview import (
    LAPSING_LIMIT,
    LIST_LIMIT,
    PAYOUT_MARGIN,
    DayTotal,
    OpenDispute,
    Tally,
)

router = APIRouter(prefix="/dashboard", include_in_schema=False)

DAYS = 30
URGENT = timedelta(hours=72)
# Stripe releases an uncaptured card authorization seven days after it was made.
STRIPE_RELEASES_AFTER = timedelta(days=7)

COLLECTED = frozenset(
    {
        PaymentStatus.SUCCEEDED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.DISPUTED,
    }
)
"""Captured: the money came in, whatever happened to it since (refunds and disputes are
shown beside it, not taken from it)."""


@dataclass(frozen=True, slots=True)
class SuccessRate:
    """Collected payments among the finished ones (collected or failed)."""

    collected: int
    finished: int

    @property
    def percent(self) -> int | None:
        """Rounded down, so that 199 of 200 never reads as 100%."""
        return None if not self.finished else self.collected * 100 // self.finished


@dataclass(frozen=True, slots=True)
class CurrencySummary:
    currency: str
    payments: int
    collected: Tally
    refunded: int  # paid out in the period, from the ledger, as a positive amount


@dataclass(frozen=True)
class Period:
    """Payments created in a period, and refunds paid out in it."""

    by_status: dict[tuple[str, str], Tally]  # (currency, status) → tally
    currencies: list[CurrencySummary]  # most payments first
    rate: SuccessRate


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One currency and status: payments created today, and in the last 30 days."""

    currency: str
    status: str
    today: Tally
    month: Tally


@dataclass(frozen=True, slots=True)
class FeeRow:
    """Stripe's fees in one settlement currency: today, and in the last 30 days."""

    currency: str
    today: int
    month: int


@dataclass(frozen=True, slots=True)
class DisputeRow:
    dispute: OpenDispute
    due: str  # how the due date stands: "in 5 days", "overdue", …
    urgent: bool


@dataclass(frozen=True, slots=True)
class LapseRow:
    """An authorization about to be settled without an operator: what happens, and when."""

    payment: Payment
    at: datetime
    what: str  # "released in 5 hours", "captured in 20 minutes", "Stripe releases it in 1 day"
    overdue: bool


@router.get("", response_class=HTMLResponse)
async def overview(
    request: Request, reads: OverviewReadsDep, operator: OperatorDep, services: ServicesDep
) -> Response:
    now = utcnow()
    settings = services.settings
    today = now.date()
    first_day = today - timedelta(days=DAYS - 1)
    figures = await reads.figures(since=_midnight(first_day), today_start=_midnight(today))
    month = summarise(figures.totals, figures.month_refunds)
    today_period = summarise([t for t in figures.totals if t.day == today], figures.today_refunds)
    days = daily(figures.totals, first_day, today)
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
        "fees": fee_rows(figures.today_fees, figures.month_fees),
        "disputes_open": figures.disputes_open,
        "disputes": [_dispute_row(d, now) for d in figures.disputes],
        "attention": figures.attention,
        "payout_margin_days": PAYOUT_MARGIN.days,
        "lapsing": [
            lapse_row(p, now, settings.uncaptured_after, settings.uncaptured_action)
            for p in figures.attention.lapsing[:LIST_LIMIT]
        ],
        "lapsing_limit": LAPSING_LIMIT,
        "uncaptured_action": settings.uncaptured_action,
    }
    return page("overview.html", context, operator=operator, request=request)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def summarise(totals: Iterable[DayTotal], refunds: dict[str, int]) -> Period:
    """The period's tallies per currency and status, what each currency collected, and the
    success rate; `refunds` is what the ledger paid out per currency in the same period."""
    by_status: dict[tuple[str, str], Tally] = {}
    for total in totals:
        key = (total.currency, total.status)
        by_status[key] = by_status.get(key, Tally()) + total.tally
    payments: dict[str, int] = {}
    collected: dict[str, Tally] = {}
    for (currency, status), tally in by_status.items():
        payments[currency] = payments.get(currency, 0) + tally.count
        if status in COLLECTED:
            collected[currency] = collected.get(currency, Tally()) + tally
    currencies = sorted(
        set(payments) | {c for c, amount in refunds.items() if amount},
        key=lambda c: (-payments.get(c, 0), c),
    )
    failed = sum(t.count for (_, s), t in by_status.items() if s == PaymentStatus.FAILED)
    succeeded = sum(tally.count for tally in collected.values())
    return Period(
        by_status=by_status,
        currencies=[
            CurrencySummary(
                currency,
                payments.get(currency, 0),
                collected.get(currency, Tally()),
                refunds.get(currency, 0),
            )
            for currency in currencies
        ],
        rate=SuccessRate(succeeded, succeeded + failed),
    )


def daily(totals: list[DayTotal], first_day: date, last_day: date) -> list[Day]:
    """One `Day` per calendar day from `first_day` to `last_day`: collected and failed counts."""
    collected: dict[date, int] = {}
    failed: dict[date, int] = {}
    for total in totals:
        if total.status in COLLECTED:
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


_STATUS_ORDER: dict[str, int] = {status: index for index, status in enumerate(PaymentStatus)}


def status_rank(status: str) -> tuple[int, str]:
    """Sorts statuses in the order a payment moves through them; unknown ones last."""
    return _STATUS_ORDER.get(status, len(_STATUS_ORDER)), status


def status_rows(today: Period, month: Period) -> list[StatusRow]:
    """Every currency and status seen in 30 days; currencies with most payments first."""
    rank = {summary.currency: index for index, summary in enumerate(month.currencies)}
    keys = sorted(
        month.by_status,
        key=lambda key: (rank.get(key[0], len(rank)), key[0], status_rank(key[1])),
    )
    return [
        StatusRow(
            currency,
            status,
            today.by_status.get((currency, status), Tally()),
            month.by_status[(currency, status)],
        )
        for currency, status in keys
    ]


def fee_rows(today: dict[str, int], month: dict[str, int]) -> list[FeeRow]:
    """One row per settlement currency with fees in the last 30 days, by currency code."""
    return [FeeRow(c, today.get(c, 0), month[c]) for c in sorted(month)]


def _dispute_row(dispute: OpenDispute, now: datetime) -> DisputeRow:
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


def lapse_row(payment: Payment, now: datetime, after: timedelta, action: str) -> LapseRow:
    """What happens to an authorization left uncaptured, by `action` (the worker releases or
    captures it `after` its authorization; with `none`, Stripe releases it after seven
    days), and when, in words."""
    authorized = payment.authorized_at or payment.created_at
    if action == "none":
        at = authorized + STRIPE_RELEASES_AFTER
        verb, late = "Stripe releases it", "Stripe releases it any moment"
    else:
        at = authorized + after
        done = "captured" if action == "capture" else "released"
        verb, late = done, f"{done} on the worker's next round"
    left = at - now
    if left < timedelta(0):
        return LapseRow(payment, at, f"{late} (due {duration(-left)} ago)", overdue=True)
    return LapseRow(payment, at, f"{verb} in {duration(left)}", overdue=False)


def duration(span: timedelta) -> str:
    """`under a minute`, `40 minutes`, `5 hours`, `1 day 3 hours`: rounded down."""
    minutes = int(span.total_seconds()) // 60
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return _count(minutes, "minute")
    hours = minutes // 60
    if hours < 24:
        return _count(hours, "hour")
    days, hours = divmod(hours, 24)
    return _count(days, "day") + (f" {_count(hours, 'hour')}" if hours else "")


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"
