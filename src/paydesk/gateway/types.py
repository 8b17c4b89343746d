"""Stripe's objects as paydesk reads them: typed snapshots parsed from Stripe's JSON here and
nowhere else, whether the JSON came from an API answer or a webhook event. Everything past
this module works with the snapshots, never with Stripe's dictionaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class MethodDetails:
    """How a charge is paid, from its `payment_method_details`: the method's type and what
    can be shown of it. A card's brand, country and last four; a SEPA debit's bank account
    country, last four and mandate; an iDEAL or Bancontact payment's bank (and the last four
    of the account it came from, when the bank says). `charge_status` is the charge's."""

    type: str
    charge_status: str
    brand: str | None = None
    bank: str | None = None
    last4: str | None = None
    country: str | None = None
    mandate: str | None = None

    @classmethod
    def from_charge(cls, charge: dict[str, Any]) -> MethodDetails | None:
        details = charge.get("payment_method_details")
        if not isinstance(details, dict) or not isinstance(details.get("type"), str):
            return None
        kind: str = details["type"]
        own = details.get(kind)
        own = own if isinstance(own, dict) else {}
        return cls(
            type=kind,
            charge_status=str(charge.get("status") or ""),
            brand=_string(own.get("brand")),
            bank=_string(own.get("bank")) or _string(own.get("bank_name")),
            # iDEAL's `iban_last4` is "****" until the bank tells the digits.
            last4=_string(own.get("last4")) or _digits(own.get("iban_last4")),
            country=_string(own.get("country")),
            mandate=_id(own.get("mandate")),
        )


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    """What Stripe's Radar and the card network said of a charge (its `outcome`): the risk
    level (`normal`, `elevated`, `highest`), a score where Stripe gives one, the outcome's
    type (`authorized`, `manual_review`, `blocked`, `issuer_declined`, …), the message for
    the shop and the rule that decided, if one did."""

    risk_level: str | None
    risk_score: int | None
    type: str | None
    seller_message: str | None
    rule: str | None

    @classmethod
    def from_charge(cls, charge: dict[str, Any]) -> ChargeOutcome | None:
        outcome = charge.get("outcome")
        if not isinstance(outcome, dict):
            return None
        score = outcome.get("risk_score")
        return cls(
            risk_level=_string(outcome.get("risk_level")),
            risk_score=score if isinstance(score, int) and not isinstance(score, bool) else None,
            type=_string(outcome.get("type")),
            seller_message=_string(outcome.get("seller_message")),
            rule=_id(outcome.get("rule")),
        )


@dataclass(frozen=True, slots=True)
class FeeDetail:
    """One part of a balance transaction's fee: Stripe's own (`stripe_fee`), a tax on it
    (`tax`), or a platform's (`application_fee`), in the transaction's currency."""

    type: str
    amount: int
    currency: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class BalanceTransactionSnapshot:
    """A BalanceTransaction (`txn_…`): money entering or leaving the Stripe balance, in the
    account's settlement `currency`. `amount` is what moved before Stripe's `fee`, `net`
    after it; `exchange_rate` (Stripe's decimal, as text so that it stays exact) is there
    when the money moved in another currency. `source` is the charge, refund, dispute or
    payout that moved it; `source_intent` the PaymentIntent that source belongs to, when
    Stripe sent the source expanded or paydesk read the transaction from that object."""

    id: str
    type: str
    reporting_category: str
    amount: int
    fee: int
    net: int
    currency: str
    status: str
    created: int
    available_on: int
    source: str | None = None
    source_intent: str | None = None
    exchange_rate: str | None = None
    description: str | None = None
    fee_details: tuple[FeeDetail, ...] = ()

    @classmethod
    def from_stripe(
        cls, obj: dict[str, Any], *, source_intent: str | None = None
    ) -> BalanceTransactionSnapshot:
        source = obj.get("source")
        if isinstance(source, dict) and source_intent is None:
            source_intent = _id(source.get("payment_intent"))
        rate = obj.get("exchange_rate")
        return cls(
            id=str(obj["id"]),
            type=str(obj["type"]),
            reporting_category=str(obj.get("reporting_category") or obj["type"]),
            amount=int(obj["amount"]),
            fee=int(obj.get("fee") or 0),
            net=int(obj["net"]),
            currency=str(obj["currency"]).lower(),
            status=str(obj.get("status") or "pending"),
            created=int(obj.get("created") or 0),
            available_on=int(obj.get("available_on") or 0),
            source=_id(source),
            source_intent=source_intent,
            exchange_rate=None if rate is None else _decimal_text(rate),
            description=_string(obj.get("description")),
            fee_details=tuple(
                FeeDetail(
                    type=str(detail.get("type") or "stripe_fee"),
                    amount=int(detail["amount"]),
                    currency=str(detail.get("currency") or obj["currency"]).lower(),
                    description=_string(detail.get("description")),
                )
                for detail in obj.get("fee_details") or []
                if isinstance(detail, dict)
            ),
        )


def transaction_of(
    value: object, *, source_intent: str | None
) -> BalanceTransactionSnapshot | None:
    """An expandable `balance_transaction` field, when Stripe sent it expanded."""
    if not isinstance(value, dict):
        return None
    return BalanceTransactionSnapshot.from_stripe(value, source_intent=source_intent)


@dataclass(frozen=True, slots=True)
class PayoutSnapshot:
    """A Payout: money leaving the balance for the account's bank, `arrival_date` the day
    the bank should have it. A failed one names the transaction that put its money back
    (`failure_balance_transaction`) and why (`failure_code`, `failure_message`)."""

    id: str
    status: str
    amount: int
    currency: str
    created: int
    arrival_date: int
    automatic: bool
    balance_transaction: str | None = None
    failure_balance_transaction: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    reconciliation_status: str | None = None
    description: str | None = None

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> PayoutSnapshot:
        return cls(
            id=str(obj["id"]),
            status=str(obj["status"]),
            amount=int(obj["amount"]),
            currency=str(obj["currency"]).lower(),
            created=int(obj.get("created") or 0),
            arrival_date=int(obj.get("arrival_date") or 0),
            automatic=bool(obj.get("automatic")),
            balance_transaction=_id(obj.get("balance_transaction")),
            failure_balance_transaction=_id(obj.get("failure_balance_transaction")),
            failure_code=_string(obj.get("failure_code")),
            failure_message=_string(obj.get("failure_message")),
            reconciliation_status=_string(obj.get("reconciliation_status")),
            description=_string(obj.get("description")),
        )


@dataclass(frozen=True, slots=True)
class IntentSnapshot:
    """A PaymentIntent."""

    id: str
    status: str
    amount: int
    currency: str
    created: int
    amount_received: int = 0
    amount_capturable: int = 0
    client_secret: str | None = None
    latest_charge: str | None = None
    error_code: str = ""
    decline_code: str | None = None
    error_message: str | None = None
    next_action_url: str | None = None
    metadata: dict[str, str] | None = None
    # How its latest charge is paid, and the money it moved, when Stripe sent that charge
    # (and its balance transaction) expanded.
    method: MethodDetails | None = None
    charge_transaction: BalanceTransactionSnapshot | None = None
    # What Radar said of that charge, likewise when it was expanded.
    outcome: ChargeOutcome | None = None
    # Why it was canceled, once it was: `automatic` when Stripe let an authorization lapse.
    cancellation_reason: str | None = None

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> IntentSnapshot:
        error = obj.get("last_payment_error") or {}
        next_action = obj.get("next_action") or {}
        # A confirm with a return_url is sent to a page; one without it is left to Stripe.js,
        # whose challenge page the sandbox names in `use_stripe_sdk.stripe_js`.
        redirect = next_action.get("redirect_to_url") or {}
        sdk = next_action.get("use_stripe_sdk") or {}
        charge = obj.get("latest_charge")
        return cls(
            id=obj["id"],
            status=obj["status"],
            amount=int(obj["amount"]),
            currency=str(obj["currency"]).lower(),
            created=int(obj.get("created") or 0),
            amount_received=int(obj.get("amount_received") or 0),
            amount_capturable=int(obj.get("amount_capturable") or 0),
            client_secret=obj.get("client_secret"),
            latest_charge=_id(obj.get("latest_charge")),
            error_code=str(error.get("code") or ""),
            decline_code=error.get("decline_code"),
            error_message=error.get("message"),
            next_action_url=redirect.get("url") or _string(sdk.get("stripe_js")),
            metadata=_metadata(obj),
            method=MethodDetails.from_charge(charge) if isinstance(charge, dict) else None,
            charge_transaction=transaction_of(
                charge.get("balance_transaction"), source_intent=obj["id"]
            )
            if isinstance(charge, dict)
            else None,
            outcome=ChargeOutcome.from_charge(charge) if isinstance(charge, dict) else None,
            cancellation_reason=_string(obj.get("cancellation_reason")),
        )

    @property
    def paydesk_payment_id(self) -> str | None:
        """The payment paydesk made this PaymentIntent for, from its metadata."""
        return (self.metadata or {}).get("paydesk_payment_id")

    @property
    def declined(self) -> bool:
        """The last attempt to pay failed, and the customer must try again."""
        return self.status == "requires_payment_method" and bool(self.error_code)


@dataclass(frozen=True, slots=True)
class RefundSnapshot:
    """A Refund; `paydesk_refund_id` is the reservation paydesk made it for, if it did."""

    id: str
    status: str
    amount: int
    currency: str
    payment_intent: str | None = None
    reason: str | None = None
    paydesk_refund_id: str | None = None
    # The money it moved out (and back in, if it failed), when Stripe sent them expanded.
    transactions: tuple[BalanceTransactionSnapshot, ...] = ()

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> RefundSnapshot:
        intent = _id(obj.get("payment_intent"))
        return cls(
            id=obj["id"],
            status=str(obj.get("status") or "pending"),
            amount=int(obj["amount"]),
            currency=str(obj["currency"]).lower(),
            payment_intent=_id(obj.get("payment_intent")),
            reason=obj.get("reason"),
            paydesk_refund_id=(_metadata(obj) or {}).get("paydesk_refund_id"),
            transactions=_transactions(
                [obj.get("balance_transaction"), obj.get("failure_balance_transaction")], intent
            ),
        )


@dataclass(frozen=True, slots=True)
class ChargeSnapshot:
    """A Charge: whether its PaymentIntent's money was taken, held or refused, and the
    refunds it carries when Stripe includes them."""

    id: str
    status: str
    captured: bool
    amount: int
    amount_captured: int
    amount_refunded: int
    currency: str
    payment_intent: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    refunds: tuple[RefundSnapshot, ...] = ()
    method: MethodDetails | None = None
    # The money it moved into the balance, when Stripe sent it expanded.
    transaction: BalanceTransactionSnapshot | None = None
    outcome: ChargeOutcome | None = None

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> ChargeSnapshot:
        refunds = obj.get("refunds")
        listed = (refunds.get("data") or []) if isinstance(refunds, dict) else []
        return cls(
            id=obj["id"],
            status=str(obj.get("status") or ""),
            captured=bool(obj.get("captured")),
            amount=int(obj["amount"]),
            amount_captured=int(obj.get("amount_captured") or 0),
            amount_refunded=int(obj.get("amount_refunded") or 0),
            currency=str(obj["currency"]).lower(),
            payment_intent=_id(obj.get("payment_intent")),
            failure_code=obj.get("failure_code"),
            failure_message=_string(obj.get("failure_message")),
            refunds=tuple(RefundSnapshot.from_stripe(r) for r in listed),
            method=MethodDetails.from_charge(obj),
            transaction=transaction_of(
                obj.get("balance_transaction"), source_intent=_id(obj.get("payment_intent"))
            ),
            outcome=ChargeOutcome.from_charge(obj),
        )


@dataclass(frozen=True, slots=True)
class DisputeSnapshot:
    """A Dispute; `fee` is what Stripe charged for it when its funds were withdrawn (in
    `fee_currency`, the account's settlement currency), and `transactions` the money it
    moved out of the balance and back, which Stripe always sends with it."""

    id: str
    status: str
    amount: int
    currency: str
    payment_intent: str | None = None
    reason: str | None = None
    evidence_due_by: datetime | None = None
    evidence_submitted: bool = False
    fee: int = 0
    fee_currency: str | None = None
    transactions: tuple[BalanceTransactionSnapshot, ...] = ()

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> DisputeSnapshot:
        details = obj.get("evidence_details") or {}
        due_by = details.get("due_by")
        transactions = _transactions(
            obj.get("balance_transactions") or [], _id(obj.get("payment_intent"))
        )
        withdrawals = [t for t in transactions if t.amount < 0]
        return cls(
            id=obj["id"],
            status=str(obj["status"]),
            amount=int(obj["amount"]),
            currency=str(obj["currency"]).lower(),
            payment_intent=_id(obj.get("payment_intent")),
            reason=obj.get("reason"),
            evidence_due_by=datetime.fromtimestamp(int(due_by), UTC) if due_by else None,
            evidence_submitted=bool(details.get("submission_count")),
            fee=sum(t.fee for t in withdrawals),
            fee_currency=withdrawals[0].currency if withdrawals else None,
            transactions=transactions,
        )


@dataclass(frozen=True, slots=True)
class EarlyFraudWarningSnapshot:
    """A card issuer's early fraud warning (`radar.early_fraud_warning`): the charge it is
    about, its kind of fraud, and whether it is `actionable` (the charge can still be
    refunded to avoid a dispute)."""

    id: str
    charge: str | None
    payment_intent: str | None
    fraud_type: str
    actionable: bool
    created: int

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> EarlyFraudWarningSnapshot:
        return cls(
            id=str(obj["id"]),
            charge=_id(obj.get("charge")),
            payment_intent=_id(obj.get("payment_intent")),
            fraud_type=str(obj.get("fraud_type") or "unknown"),
            actionable=bool(obj.get("actionable")),
            created=int(obj.get("created") or 0),
        )


@dataclass(frozen=True, slots=True)
class OtherObject:
    """An object of a kind paydesk does not read (a customer, a balance, …)."""

    id: str
    kind: str


Snapshot = (
    IntentSnapshot
    | ChargeSnapshot
    | RefundSnapshot
    | DisputeSnapshot
    | PayoutSnapshot
    | EarlyFraudWarningSnapshot
    | OtherObject
)

_KINDS: dict[
    str,
    type[
        IntentSnapshot
        | ChargeSnapshot
        | RefundSnapshot
        | DisputeSnapshot
        | PayoutSnapshot
        | EarlyFraudWarningSnapshot
    ],
] = {
    "payment_intent": IntentSnapshot,
    "charge": ChargeSnapshot,
    "refund": RefundSnapshot,
    "dispute": DisputeSnapshot,
    "payout": PayoutSnapshot,
    "radar.early_fraud_warning": EarlyFraudWarningSnapshot,
}


def snapshot_of(obj: dict[str, Any]) -> Snapshot:
    """The snapshot of a Stripe object, by its `object` field."""
    kind = str(obj.get("object") or "")
    parse = _KINDS.get(kind)
    if parse is None:
        return OtherObject(id=str(obj.get("id") or ""), kind=kind)
    return parse.from_stripe(obj)


def intent_id_of(snapshot: Snapshot) -> str | None:
    """The PaymentIntent a Stripe object belongs to."""
    if isinstance(snapshot, IntentSnapshot):
        return snapshot.id
    if isinstance(snapshot, OtherObject | PayoutSnapshot):
        return None
    return snapshot.payment_intent


def transactions_of(snapshot: Snapshot) -> tuple[BalanceTransactionSnapshot, ...]:
    """The balance transactions an object came with (expanded, or always, as a dispute's)."""
    if isinstance(snapshot, IntentSnapshot):
        return (snapshot.charge_transaction,) if snapshot.charge_transaction else ()
    if isinstance(snapshot, ChargeSnapshot):
        refunds = tuple(t for refund in snapshot.refunds for t in refund.transactions)
        return ((snapshot.transaction,) if snapshot.transaction else ()) + refunds
    if isinstance(snapshot, RefundSnapshot | DisputeSnapshot):
        return snapshot.transactions
    return ()


class NotAnEvent(ValueError):
    """A body that is not JSON (`code` invalid_json), or not a Stripe event (not_an_event)."""

    def __init__(self, message: str, code: str = "not_an_event") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class EventSnapshot:
    """A Stripe event: what happened, when (Stripe's whole second), and to which object."""

    id: str
    type: str
    created: int
    livemode: bool
    object: Snapshot

    @classmethod
    def from_stripe(cls, event: dict[str, Any]) -> EventSnapshot:
        return cls(
            id=str(event["id"]),
            type=str(event["type"]),
            created=int(event["created"]),
            livemode=bool(event["livemode"]),
            object=snapshot_of(event["data"]["object"]),
        )

    @classmethod
    def parse(cls, body: bytes) -> EventSnapshot:
        """The event a webhook's body (or a stored one) holds; NotAnEvent if it holds none."""
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise NotAnEvent("The body is not JSON.", "invalid_json") from None
        if not (
            isinstance(event, dict)
            and event.get("object") == "event"
            and isinstance(event.get("id"), str)
            and event["id"].startswith("evt_")
            and len(event["id"]) <= 255
            and isinstance(event.get("type"), str)
            and len(event["type"]) <= 100
            and isinstance(event.get("created"), int)
            and isinstance(event.get("livemode"), bool)
            and isinstance((event.get("data") or {}).get("object"), dict)
        ):
            raise NotAnEvent("The body is not a Stripe event.")
        try:
            return cls.from_stripe(event)
        except (KeyError, TypeError, ValueError):
            raise NotAnEvent("The event's object is not what Stripe sends.") from None


def _id(value: object) -> str | None:
    """An expandable field: the id itself, or the id of the object Stripe expanded."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _transactions(
    values: list[Any], source_intent: str | None
) -> tuple[BalanceTransactionSnapshot, ...]:
    return tuple(
        BalanceTransactionSnapshot.from_stripe(value, source_intent=source_intent)
        for value in values
        if isinstance(value, dict)
    )


def _decimal_text(value: object) -> str:
    """Stripe's decimal as text: the shortest text that reads back as the number sent."""
    return repr(value) if isinstance(value, float) else str(value)


def _metadata(obj: dict[str, Any]) -> dict[str, str] | None:
    metadata = obj.get("metadata")
    return {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else None


def _digits(value: object) -> str | None:
    return value if isinstance(value, str) and value.isdigit() else None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None
