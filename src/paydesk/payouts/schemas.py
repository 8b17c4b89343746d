"""The payouts API's answers, and a payout's contents as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from pydantic import BaseModel, Field

from paydesk.ledger.schemas import amount_decimal, iso_utc
from paydesk.money import format_amount
from paydesk.payouts.models import PayoutStatus
from paydesk.payouts.repository import PaidOut
from paydesk.payouts.service import PayoutView

STATUS_WORDS: dict[str, str] = {
    PayoutStatus.PENDING: "Pending",
    PayoutStatus.IN_TRANSIT: "In transit",
    PayoutStatus.PAID: "Paid",
    PayoutStatus.FAILED: "Failed",
    PayoutStatus.CANCELED: "Canceled",
}


def status_in_words(status: str, failure_message: str | None = None) -> str:
    """`in_transit` → "In transit"; a failed payout says why the bank returned it."""
    words = STATUS_WORDS.get(status, status.replace("_", " ").capitalize())
    return f"{words}: {failure_message}" if failure_message else words


class PayoutOut(BaseModel):
    id: str
    amount: int = Field(description="Minor units: what the bank is sent.")
    currency: str
    amount_display: str
    status: str = Field(description="Stripe's: pending, in_transit, paid, failed or canceled.")
    status_text: str
    automatic: bool
    created: datetime
    arrival_date: datetime = Field(description="When the bank should have the money.")
    failure_code: str | None
    failure_message: str | None
    balance_transaction_id: str | None
    failure_balance_transaction_id: str | None
    contents_net: int | None = Field(
        description="The net of the transactions it paid out, once paydesk has read them; "
        "None for a manual payout, which pays out an amount rather than transactions."
    )
    reconciled: bool | None = Field(description="Whether `contents_net` equals `amount`.")

    @classmethod
    def of(cls, view: PayoutView) -> PayoutOut:
        payout = view.payout
        return cls(
            id=payout.id,
            amount=payout.amount,
            currency=payout.currency,
            amount_display=format_amount(payout.amount, payout.currency),
            status=payout.status,
            status_text=status_in_words(payout.status, payout.failure_message),
            automatic=payout.automatic,
            created=payout.created,
            arrival_date=payout.arrival_date,
            failure_code=payout.failure_code,
            failure_message=payout.failure_message,
            balance_transaction_id=payout.balance_transaction_id,
            failure_balance_transaction_id=payout.failure_balance_transaction_id,
            contents_net=view.contents_net,
            reconciled=view.reconciled,
        )


class PayoutList(BaseModel):
    data: list[PayoutOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class PaidOutOut(BaseModel):
    """A balance transaction the payout paid out, and the order it belongs to."""

    id: str
    type: str
    reporting_category: str
    source: str | None
    payment_id: str | None
    order_id: str | None
    currency: str
    gross: int = Field(description="Minor units, before Stripe's fee.")
    fee: int
    net: int
    net_display: str
    exchange_rate: str | None
    description: str | None
    created: datetime
    available_on: datetime

    @classmethod
    def of(cls, txn: PaidOut) -> PaidOutOut:
        return cls(
            id=txn.id,
            type=txn.type,
            reporting_category=txn.reporting_category,
            source=txn.source,
            payment_id=txn.payment_id,
            order_id=txn.order_id,
            currency=txn.currency,
            gross=txn.amount,
            fee=txn.fee,
            net=txn.net,
            net_display=format_amount(txn.net, txn.currency),
            exchange_rate=txn.exchange_rate,
            description=txn.description,
            created=txn.created,
            available_on=txn.available_on,
        )


class Totals(BaseModel):
    currency: str
    gross: int
    fee: int
    net: int


class PayoutDetail(PayoutOut):
    transactions: list[PaidOutOut] = Field(
        description="What it paid out, oldest first (its own transaction left out)."
    )
    totals: list[Totals] = Field(description="Gross, fee and net of `transactions`, per currency.")

    @classmethod
    def of_detail(cls, view: PayoutView) -> PayoutDetail:
        transactions = view.transactions or []
        sums: dict[str, list[int]] = {}
        for txn in transactions:
            gross, fee, net = sums.setdefault(txn.currency, [0, 0, 0])
            sums[txn.currency] = [gross + txn.amount, fee + txn.fee, net + txn.net]
        return cls(
            **PayoutOut.of(view).model_dump(),
            transactions=[PaidOutOut.of(t) for t in transactions],
            totals=[
                Totals(currency=c, gross=g, fee=f, net=n) for c, (g, f, n) in sorted(sums.items())
            ],
        )


class Amount(BaseModel):
    currency: str
    amount: int
    amount_display: str

    @classmethod
    def of(cls, currency: str, amount: int) -> Amount:
        return cls(currency=currency, amount=amount, amount_display=format_amount(amount, currency))


class BalanceOut(BaseModel):
    """The Stripe balance as paydesk has recorded it, per settlement currency."""

    available: list[Amount] = Field(description="Can be paid out now.")
    pending: list[Amount] = Field(description="Not available yet (a charge's first days).")

    @classmethod
    def of(cls, balance: dict[str, tuple[int, int]]) -> BalanceOut:
        currencies = sorted(balance)
        return cls(
            available=[Amount.of(c, balance[c][0]) for c in currencies],
            pending=[Amount.of(c, balance[c][1]) for c in currencies],
        )


CSV_HEADER = (
    "balance_transaction_id",
    "created",
    "available_on",
    "type",
    "reporting_category",
    "source",
    "payment_id",
    "order_id",
    "currency",
    "gross",
    "fee",
    "net",
    "gross_decimal",
    "fee_decimal",
    "net_decimal",
    "exchange_rate",
    "description",
)


def payout_csv(transactions: list[PaidOut]) -> str:
    """What a payout paid out, one transaction a row (RFC 4180): the `net` column sums to
    the payout's amount, the deposit on the bank statement."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(
        (
            t.id,
            iso_utc(t.created),
            iso_utc(t.available_on),
            t.type,
            t.reporting_category,
            t.source or "",
            t.payment_id or "",
            t.order_id or "",
            t.currency,
            t.amount,
            t.fee,
            t.net,
            amount_decimal(t.amount, t.currency),
            amount_decimal(t.fee, t.currency),
            amount_decimal(t.net, t.currency),
            t.exchange_rate or "",
            t.description or "",
        )
        for t in transactions
    )
    return out.getvalue()
