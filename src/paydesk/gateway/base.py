"""The one door to Stripe, as paydesk sees it: a few calls, plain data back, paydesk errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from paydesk.errors import CardDeclined, Conflict, InvalidRequest, PaydeskError
from paydesk.gateway.types import (
    BalanceTransactionSnapshot,
    DisputeSnapshot,
    IntentSnapshot,
    PayoutSnapshot,
    RefundSnapshot,
)

T = TypeVar("T")

# Stripe's codes for a call the object's current state forbids (a PaymentIntent already
# succeeded, a charge already refunded): the request is sound, the moment is not.
STATE_CONFLICTS = frozenset(
    {
        "payment_intent_unexpected_state",
        "charge_already_captured",
        "charge_already_refunded",
        "charge_disputed",
        "charge_expired_for_capture",
        "idempotency_key_in_use",
    }
)


def refusal(message: str, *, code: str | None, param: str | None = None) -> PaydeskError:
    """Stripe's `invalid_request_error` as paydesk answers it: a 409 when the object's state
    forbids the call, otherwise a 400 naming the caller's field when it was the caller's.
    Neither is a 5xx: sending the same request again gets the same refusal."""
    text = f"Stripe refused the request: {message}"
    if code in STATE_CONFLICTS:
        return Conflict(text, code=code)
    return InvalidRequest(text, code=code or "stripe_invalid_request", param=param)


class IntentDeclined(CardDeclined):
    """The card was declined; Stripe's PaymentIntent as it stands after the decline."""

    def __init__(self, message: str, *, intent: IntentSnapshot, **extra: str | None) -> None:
        super().__init__(message, **extra)
        self.intent = intent


@dataclass(frozen=True, slots=True)
class MandateAcceptance:
    """The customer accepted a debit mandate (SEPA) online, from this address and browser:
    what Stripe keeps as the mandate's proof."""

    ip_address: str
    user_agent: str


@dataclass(frozen=True, slots=True)
class EventPage:
    """A page of Stripe's event list, newest first, each event as Stripe's JSON."""

    events: list[dict[str, Any]]
    has_more: bool


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A page of one of Stripe's lists, newest first."""

    data: list[T]
    has_more: bool


class Gateway(Protocol):
    async def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        capture_method: str,
        metadata: dict[str, str],
        description: str,
        idempotency_key: str,
        payment_method_types: Sequence[str] | None = None,
        payment_method: str | None = None,
        return_url: str | None = None,
        mandate: MandateAcceptance | None = None,
    ) -> IntentSnapshot:
        """A new PaymentIntent that takes `payment_method_types` (None: what Stripe offers
        for the currency); with `payment_method`, confirmed by the same call (a declined
        card raises `IntentDeclined`, as `confirm_payment_intent` does)."""
        ...

    async def confirm_payment_intent(
        self,
        intent_id: str,
        *,
        payment_method: str,
        return_url: str | None,
        idempotency_key: str,
        mandate: MandateAcceptance | None = None,
    ) -> IntentSnapshot: ...

    async def retrieve_payment_intent(self, intent_id: str) -> IntentSnapshot: ...

    async def update_payment_intent(
        self, intent_id: str, *, amount: int, metadata: dict[str, str], idempotency_key: str
    ) -> IntentSnapshot:
        """The same PaymentIntent (same id and client secret) for a new amount; Stripe
        refuses (a Conflict) once its confirmation has gone past the customer."""
        ...

    async def capture_payment_intent(
        self, intent_id: str, *, amount: int | None, idempotency_key: str
    ) -> IntentSnapshot: ...

    async def cancel_payment_intent(
        self, intent_id: str, *, reason: str | None, idempotency_key: str
    ) -> IntentSnapshot: ...

    async def create_refund(
        self,
        intent_id: str,
        *,
        amount: int,
        reason: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> RefundSnapshot: ...

    async def list_refunds(self, intent_id: str) -> list[RefundSnapshot]:
        """The PaymentIntent's refunds."""
        ...

    async def retrieve_refund(self, refund_id: str) -> RefundSnapshot:
        """The refund, with the balance transactions that moved its money."""
        ...

    async def retrieve_dispute(self, dispute_id: str) -> DisputeSnapshot: ...

    async def update_dispute(
        self,
        dispute_id: str,
        *,
        evidence: dict[str, str],
        submit: bool,
        idempotency_key: str,
    ) -> DisputeSnapshot: ...

    async def retrieve_balance_transaction(self, txn_id: str) -> BalanceTransactionSnapshot:
        """The transaction, with the PaymentIntent its source belongs to."""
        ...

    async def list_balance_transactions(
        self, *, payout: str, starting_after: str | None = None, limit: int = 100
    ) -> Page[BalanceTransactionSnapshot]:
        """The transactions `payout` paid out (its own among them), each with the
        PaymentIntent its source belongs to."""
        ...

    async def retrieve_payout(self, payout_id: str) -> PayoutSnapshot: ...

    async def list_payouts(
        self,
        *,
        starting_after: str | None = None,
        created_gte: int | None = None,
        limit: int = 100,
    ) -> Page[PayoutSnapshot]: ...

    async def list_events(
        self,
        *,
        limit: int = 100,
        ending_before: str | None = None,
        starting_after: str | None = None,
        created_gte: int | None = None,
    ) -> EventPage: ...

    async def close(self) -> None: ...
