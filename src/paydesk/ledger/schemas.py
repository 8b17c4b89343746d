from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from paydesk.errors import InvalidRequest
from paydesk.ledger.repository import Row, SettlementTotal, Total
from paydesk.money import SUPPORTED_CURRENCIES, exponent, format_amount

CSV_HEADER = (
    "entry_id",
    "created_at",
    "payment_id",
    "order_id",
    "kind",
    "amount",
    "currency",
    "amount_decimal",
    "stripe_object_id",
    "balance_transaction_id",
    "settlement_currency",
    "gross",
    "fee",
    "net",
    "gross_decimal",
    "fee_decimal",
    "net_decimal",
    "exchange_rate",
    "payout_id",
)


def _utc(value: datetime) -> datetime:
    """An instant; one written without a UTC offset is taken as UTC. One whose offset takes
    it past the calendar's first or last day (`0001-01-01T00:00+23:59`) is refused."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant is outside the years 1 to 9999 in UTC") from None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_text(value: object) -> object:
    """Only ISO 8601 text: a bare number would otherwise be read as a Unix time."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("an ISO 8601 date and time is needed, such as 2026-03-01T00:00:00Z")
    return value


Instant = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_utc)]


def currency_filter(value: str | None) -> str | None:
    """A currency code as given in a query (`usd`, or `USD`), checked and lowercased."""
    if value is None:
        return None
    currency = value.strip().lower()
    if currency not in SUPPORTED_CURRENCIES:
        raise InvalidRequest(
            f"Currency {value!r} is not supported; use one of "
            f"{', '.join(sorted(SUPPORTED_CURRENCIES))}.",
            code="unsupported_currency",
            param="currency",
        )
    return currency


def amount_decimal(amount: int, currency: str) -> str:
    """The amount in major units with the currency's exponent and no grouping:
    `1999, "usd"` → `19.99`; `500, "jpy"` → `500`; `-1250, "kwd"` → `-1.250`."""
    digits = exponent(currency)
    if not digits:
        return str(amount)
    whole, minor = divmod(abs(amount), 10**digits)
    return f"{'-' if amount < 0 else ''}{whole}.{minor:0{digits}d}"


def iso_utc(at: datetime) -> str:
    """An instant as CSV cells show it: ISO 8601 in UTC, `Z` for the offset."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Settlement(BaseModel):
    """The entry's money as it moved in the Stripe balance, in the settlement currency."""

    balance_transaction_id: str
    currency: str
    gross: int = Field(description="Minor units, before Stripe's fee.")
    fee: int = Field(description="Stripe's fee, minor units.")
    net: int = Field(description="Minor units: gross - fee.")
    net_display: str
    exchange_rate: str | None = Field(
        description="From the customer's currency to the settlement currency, when they differ."
    )
    payout_id: str | None = Field(description="The payout that paid it out, once one has.")


class LedgerEntryOut(BaseModel):
    id: int
    payment_id: str | None = Field(
        description="None for a payout and for a movement of the balance paydesk did not make."
    )
    order_id: str | None
    kind: str
    amount: int = Field(description="Minor units; positive comes in, negative goes out.")
    currency: str
    amount_display: str
    stripe_object_id: str
    created_at: datetime
    settlement: Settlement | None = Field(
        description="Once paydesk has read the balance transaction that moved the money."
    )

    @classmethod
    def of(cls, row: Row) -> LedgerEntryOut:
        return cls(
            id=row.id,
            payment_id=row.payment_id,
            order_id=row.order_id,
            kind=row.kind,
            amount=row.amount,
            currency=row.currency,
            amount_display=format_amount(row.amount, row.currency),
            stripe_object_id=row.stripe_object_id,
            created_at=row.created_at,
            settlement=settlement_of(row),
        )


def settlement_of(row: Row) -> Settlement | None:
    if (
        row.balance_transaction_id is None
        or row.settlement_currency is None
        or row.settlement_amount is None
        or row.fee is None
        or row.net is None
    ):
        return None
    return Settlement(
        balance_transaction_id=row.balance_transaction_id,
        currency=row.settlement_currency,
        gross=row.settlement_amount,
        fee=row.fee,
        net=row.net,
        net_display=format_amount(row.net, row.settlement_currency),
        exchange_rate=row.exchange_rate,
        payout_id=row.payout_id,
    )


class Balance(BaseModel):
    currency: str
    amount: int
    amount_display: str

    @classmethod
    def of(cls, currency: str, amount: int) -> Balance:
        return cls(currency=currency, amount=amount, amount_display=format_amount(amount, currency))


def balances(amounts: Iterable[tuple[str, int]]) -> list[Balance]:
    """The sum per currency, in currency order."""
    sums: dict[str, int] = defaultdict(int)
    for currency, amount in amounts:
        sums[currency] += amount
    return [Balance.of(currency, sums[currency]) for currency in sorted(sums)]


class PaymentLedger(BaseModel):
    payment_id: str
    entries: list[LedgerEntryOut] = Field(description="Oldest first.")
    balances: list[Balance] = Field(description="The sum of the entries, per currency.")

    @classmethod
    def of(cls, payment_id: str, rows: Sequence[Row]) -> PaymentLedger:
        return cls(
            payment_id=payment_id,
            entries=[LedgerEntryOut.of(r) for r in rows],
            balances=balances((r.currency, r.amount) for r in rows),
        )


class KindTotal(BaseModel):
    currency: str
    kind: str
    count: int
    amount: int
    amount_display: str


class SettlementTotalOut(BaseModel):
    """Over the entries whose balance transaction is known, per settlement currency: what
    moved through the Stripe balance, what Stripe kept, and the net."""

    currency: str
    count: int
    gross: int
    fee: int
    net: int
    fee_display: str
    net_display: str

    @classmethod
    def of(cls, total: SettlementTotal) -> SettlementTotalOut:
        return cls(
            currency=total.currency,
            count=total.count,
            gross=total.amount,
            fee=total.fee,
            net=total.net,
            fee_display=format_amount(total.fee, total.currency),
            net_display=format_amount(total.net, total.currency),
        )


class LedgerPage(BaseModel):
    data: list[LedgerEntryOut] = Field(description="Oldest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    totals: list[KindTotal] = Field(
        description="Per currency and kind, over every entry of the selection, not only this page."
    )
    balances: list[Balance] = Field(description="Net per currency over the whole selection.")
    settlement: list[SettlementTotalOut] = Field(
        description="Gross, Stripe's fees and net per settlement currency, over the whole "
        "selection's entries whose balance transaction is known."
    )

    @classmethod
    def of(
        cls,
        rows: Sequence[Row],
        next_cursor: int | None,
        totals: Sequence[Total],
        settlement: Sequence[SettlementTotal],
    ) -> LedgerPage:
        return cls(
            data=[LedgerEntryOut.of(r) for r in rows],
            next_cursor=None if next_cursor is None else str(next_cursor),
            totals=[
                KindTotal(
                    currency=t.currency,
                    kind=t.kind,
                    count=t.count,
                    amount=t.amount,
                    amount_display=format_amount(t.amount, t.currency),
                )
                for t in totals
            ],
            balances=balances((t.currency, t.amount) for t in totals),
            settlement=[SettlementTotalOut.of(t) for t in settlement],
        )


def to_csv(rows: Iterable[Row]) -> str:
    """RFC 4180: a header row, CRLF line ends, fields quoted when they need it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(
        (
            r.id,
            iso_utc(r.created_at),
            r.payment_id or "",
            r.order_id or "",
            r.kind,
            r.amount,
            r.currency,
            amount_decimal(r.amount, r.currency),
            r.stripe_object_id,
            *_settlement_columns(settlement_of(r)),
        )
        for r in rows
    )
    return out.getvalue()


def _settlement_columns(settled: Settlement | None) -> tuple[str | int, ...]:
    """The settlement columns of a CSV row: empty while the transaction is not known."""
    if settled is None:
        return ("",) * 10
    return (
        settled.balance_transaction_id,
        settled.currency,
        settled.gross,
        settled.fee,
        settled.net,
        amount_decimal(settled.gross, settled.currency),
        amount_decimal(settled.fee, settled.currency),
        amount_decimal(settled.net, settled.currency),
        settled.exchange_rate or "",
        settled.payout_id or "",
    )


def csv_filename(start: datetime | None, end: datetime | None) -> str:
    def stamp(at: datetime | None, missing: str) -> str:
        return missing if at is None else at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    return f"paydesk-ledger-{stamp(start, 'start')}-{stamp(end, 'now')}.csv"


def wants_csv(accept: str | None) -> bool:
    """Whether the Accept header prefers CSV to JSON (an explicit `text/csv` wins a tie)."""
    quality: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media.lower()] = max(q, quality.get(media.lower(), 0.0))
    csv_q = quality.get("text/csv", 0.0)
    return csv_q > 0 and csv_q >= quality.get("application/json", 0.0)
