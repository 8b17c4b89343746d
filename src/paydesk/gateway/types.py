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
    # How its latest charge is paid, when Stripe sent that charge expanded.
    method: MethodDetails | None = None

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

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> RefundSnapshot:
        return cls(
            id=obj["id"],
            status=str(obj.get("status") or "pending"),
            amount=int(obj["amount"]),
            currency=str(obj["currency"]).lower(),
            payment_intent=_id(obj.get("payment_intent")),
            reason=obj.get("reason"),
            paydesk_refund_id=(_metadata(obj) or {}).get("paydesk_refund_id"),
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
        )


@dataclass(frozen=True, slots=True)
class DisputeSnapshot:
    """A Dispute; `fee` is what Stripe charged for it when its funds were withdrawn."""

    id: str
    status: str
    amount: int
    currency: str
    payment_intent: str | None = None
    reason: str | None = None
    evidence_due_by: datetime | None = None
    evidence_submitted: bool = False
    fee: int = 0

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> DisputeSnapshot:
        details = obj.get("evidence_details") or {}
        due_by = details.get("due_by")
        transactions = [t for t in obj.get("balance_transactions") or [] if isinstance(t, dict)]
        return cls(
            id=obj["id"],
            status=str(obj["status"]),
            amount=int(obj["amount"]),
            currency=str(obj["currency"]).lower(),
            payment_intent=_id(obj.get("payment_intent")),
            reason=obj.get("reason"),
            evidence_due_by=datetime.fromtimestamp(int(due_by), UTC) if due_by else None,
            evidence_submitted=bool(details.get("submission_count")),
            fee=sum(int(t.get("fee") or 0) for t in transactions if int(t["amount"]) < 0),
        )


@dataclass(frozen=True, slots=True)
class OtherObject:
    """An object of a kind paydesk does not read (a customer, a payout, …)."""

    id: str
    kind: str


Snapshot = IntentSnapshot | ChargeSnapshot | RefundSnapshot | DisputeSnapshot | OtherObject

_KINDS: dict[str, type[IntentSnapshot | ChargeSnapshot | RefundSnapshot | DisputeSnapshot]] = {
    "payment_intent": IntentSnapshot,
    "charge": ChargeSnapshot,
    "refund": RefundSnapshot,
    "dispute": DisputeSnapshot,
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
    if isinstance(snapshot, OtherObject):
        return None
    return snapshot.payment_intent


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


def _metadata(obj: dict[str, Any]) -> dict[str, str] | None:
    metadata = obj.get("metadata")
    return {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else None


def _digits(value: object) -> str | None:
    return value if isinstance(value, str) and value.isdigit() else None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None
