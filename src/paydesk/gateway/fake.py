"""An in-memory Stripe for tests that need no HTTP: PaymentIntents that move as Stripe's
do for a few test payment methods, idempotency keys honoured, and an off switch."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from paydesk.errors import PaymentProviderUnavailable
from paydesk.gateway.base import EventPage, IntentDeclined, MandateAcceptance, Page, refusal
from paydesk.gateway.types import (
    BalanceTransactionSnapshot,
    DisputeSnapshot,
    IntentSnapshot,
    MethodDetails,
    PayoutSnapshot,
    RefundSnapshot,
)

# payment method → (decline code, or None when it succeeds)
DECLINES: dict[str, str | None] = {
    "pm_card_visa": None,
    "pm_card_mastercard": None,
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
}
# payment method → the card its charge is paid with (Stripe's test cards)
CARDS: dict[str, tuple[str, str]] = {
    "pm_card_visa": ("visa", "4242"),
    "pm_card_mastercard": ("mastercard", "4444"),
}
# Stripe takes a new amount only before the customer's confirmation has gone through.
_UPDATABLE = ("requires_payment_method", "requires_confirmation", "requires_action")


def _known(payment_method: str) -> None:
    if payment_method not in DECLINES:
        raise refusal(
            f"No such PaymentMethod: '{payment_method}'",
            code="resource_missing",
            param="payment_method",
        )


class FakeGateway:
    def __init__(self) -> None:
        self.intents: dict[str, IntentSnapshot] = {}
        self.calls: list[str] = []
        self.reachable = True
        self._answers: dict[str, IntentSnapshot | IntentDeclined] = {}
        self.events: list[dict[str, Any]] = []  # oldest first, as tests add them
        self.disputes: dict[str, dict[str, Any]] = {}  # as tests open them
        self._refunds: dict[str, dict[str, Any]] = {}
        # Stripe's balance as tests make it: transactions, payouts, and what each paid out.
        self.balance_transactions: dict[str, BalanceTransactionSnapshot] = {}
        self.payouts: dict[str, PayoutSnapshot] = {}
        self.paid_out: dict[str, list[str]] = {}  # payout id → its transactions, newest first
        # What each create asked to accept, by idempotency key (None: Stripe's choice).
        self.payment_method_types: dict[str, Sequence[str] | None] = {}

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if not self.reachable:
            raise PaymentProviderUnavailable("Stripe could not be reached; retry the request.")

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
        self._call("create" if payment_method is None else "create_and_confirm")
        self.payment_method_types[idempotency_key] = payment_method_types
        answer = self._answers.get(idempotency_key)
        if isinstance(answer, IntentDeclined):
            raise answer
        if answer is not None:
            return answer
        if payment_method is not None:
            _known(payment_method)
        intent_id = f"pi_{secrets.token_hex(12)}"
        intent = IntentSnapshot(
            id=intent_id,
            status="requires_payment_method",
            amount=amount,
            currency=currency,
            created=int(time.time()),
            client_secret=f"{intent_id}_secret_{secrets.token_hex(8)}",
            metadata={**metadata, "capture_method": capture_method},
        )
        self.intents[intent_id] = intent
        if payment_method is not None:
            return self._confirmed(intent_id, payment_method, idempotency_key)
        self._answers[idempotency_key] = intent
        return intent

    async def confirm_payment_intent(
        self,
        intent_id: str,
        *,
        payment_method: str,
        return_url: str | None,
        idempotency_key: str,
        mandate: MandateAcceptance | None = None,
    ) -> IntentSnapshot:
        self._call("confirm")
        answer = self._answers.get(idempotency_key)
        if isinstance(answer, IntentDeclined):
            raise answer
        if answer is not None:
            return answer
        intent = self.intents[intent_id]
        if intent.status not in ("requires_payment_method", "requires_confirmation"):
            raise refusal(
                "You cannot confirm this PaymentIntent because it has a status of "
                f"{intent.status}.",
                code="payment_intent_unexpected_state",
            )
        _known(payment_method)
        return self._confirmed(intent_id, payment_method, idempotency_key)

    def _confirmed(
        self, intent_id: str, payment_method: str, idempotency_key: str
    ) -> IntentSnapshot:
        """The PaymentIntent paid with `payment_method`, or declined (raised), as the
        answer kept for `idempotency_key`."""
        intent = self.intents[intent_id]
        decline = DECLINES[payment_method]
        if decline is not None:
            intent = replace(
                intent,
                status="requires_payment_method",
                error_code="card_declined",
                decline_code=decline,
                error_message="Your card was declined.",
            )
            self.intents[intent_id] = intent
            declined = IntentDeclined(
                "Your card was declined.", intent=intent, decline_code=decline
            )
            self._answers[idempotency_key] = declined
            raise declined
        manual = (intent.metadata or {}).get("capture_method") == "manual"
        brand, last4 = CARDS[payment_method]
        charge_id = f"ch_{secrets.token_hex(12)}"
        intent = replace(
            intent,
            status="requires_capture" if manual else "succeeded",
            amount_received=0 if manual else intent.amount,
            amount_capturable=intent.amount if manual else 0,
            latest_charge=charge_id,
            charge_transaction=None if manual else self._charge_transaction(intent, charge_id),
            error_code="",
            decline_code=None,
            error_message=None,
            method=MethodDetails(
                type="card", charge_status="succeeded", brand=brand, last4=last4, country="US"
            ),
        )
        self.intents[intent_id] = intent
        self._answers[idempotency_key] = intent
        return intent

    def _charge_transaction(
        self, intent: IntentSnapshot, charge_id: str
    ) -> BalanceTransactionSnapshot:
        """The money a charge moved into the balance, in its own currency, less Stripe's
        standard card fee (2.9% and 30 minor units), as Stripe answers it expanded."""
        fee = (intent.amount * 29 + 500) // 1000 + 30
        now = int(time.time())
        txn = BalanceTransactionSnapshot(
            id=f"txn_{secrets.token_hex(12)}",
            type="charge",
            reporting_category="charge",
            amount=intent.amount,
            fee=fee,
            net=intent.amount - fee,
            currency=intent.currency,
            status="pending",
            created=now,
            available_on=now + 2 * 86_400,
            source=charge_id,
            source_intent=intent.id,
        )
        self.balance_transactions[txn.id] = txn
        return txn

    async def retrieve_payment_intent(self, intent_id: str) -> IntentSnapshot:
        self._call("retrieve")
        return self.intents[intent_id]

    async def capture_payment_intent(
        self, intent_id: str, *, amount: int | None, idempotency_key: str
    ) -> IntentSnapshot:
        self._call("capture")
        intent = self.intents[intent_id]
        if intent.status != "requires_capture":
            raise refusal(
                f"This PaymentIntent could not be captured because it has a status of "
                f"{intent.status}.",
                code="payment_intent_unexpected_state",
            )
        captured = intent.amount_capturable if amount is None else amount
        if captured > intent.amount_capturable:
            raise refusal(
                "The amount to capture is greater than the amount capturable.",
                code="amount_too_large",
                param="amount",
            )
        intent = replace(intent, status="succeeded", amount_received=captured, amount_capturable=0)
        self.intents[intent_id] = intent
        return intent

    async def update_payment_intent(
        self, intent_id: str, *, amount: int, metadata: dict[str, str], idempotency_key: str
    ) -> IntentSnapshot:
        self._call("update")
        intent = self.intents[intent_id]
        if intent.status not in _UPDATABLE:
            raise refusal(
                f"This PaymentIntent's amount could not be updated because it has a status of "
                f"{intent.status}.",
                code="payment_intent_unexpected_state",
            )
        intent = replace(intent, amount=amount, metadata={**(intent.metadata or {}), **metadata})
        self.intents[intent_id] = intent
        return intent

    async def cancel_payment_intent(
        self, intent_id: str, *, reason: str | None, idempotency_key: str
    ) -> IntentSnapshot:
        self._call("cancel")
        intent = self.intents[intent_id]
        if intent.status in ("succeeded", "canceled", "processing"):
            raise refusal(
                f"You cannot cancel this PaymentIntent because it has a status of {intent.status}.",
                code="payment_intent_unexpected_state",
            )
        intent = replace(intent, status="canceled", amount_capturable=0, cancellation_reason=reason)
        self.intents[intent_id] = intent
        return intent

    async def create_refund(
        self,
        intent_id: str,
        *,
        amount: int,
        reason: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> RefundSnapshot:
        self._call("refund")
        answer = self._refunds.get(idempotency_key)
        if answer is not None:
            return RefundSnapshot.from_stripe(answer)
        intent = self.intents[intent_id]
        refund = {
            "id": f"re_{secrets.token_hex(12)}",
            "object": "refund",
            "amount": amount,
            "currency": intent.currency,
            "payment_intent": intent_id,
            "reason": reason,
            "status": "succeeded",
            "metadata": metadata,
        }
        self._refunds[idempotency_key] = refund
        return RefundSnapshot.from_stripe(refund)

    async def list_refunds(self, intent_id: str) -> list[RefundSnapshot]:
        self._call("list_refunds")
        return [
            RefundSnapshot.from_stripe(r)
            for r in self._refunds.values()
            if r["payment_intent"] == intent_id
        ]

    async def retrieve_refund(self, refund_id: str) -> RefundSnapshot:
        self._call("retrieve_refund")
        for refund in self._refunds.values():
            if refund["id"] == refund_id:
                return RefundSnapshot.from_stripe(refund)
        raise refusal(f"No such refund: '{refund_id}'", code="resource_missing")

    async def retrieve_dispute(self, dispute_id: str) -> DisputeSnapshot:
        self._call("retrieve_dispute")
        return DisputeSnapshot.from_stripe(self.disputes[dispute_id])

    async def update_dispute(
        self,
        dispute_id: str,
        *,
        evidence: dict[str, str],
        submit: bool,
        idempotency_key: str,
    ) -> DisputeSnapshot:
        self._call("update_dispute")
        dispute = self.disputes[dispute_id]
        dispute["evidence"] = {**dispute.get("evidence", {}), **evidence}
        if submit:
            dispute["status"] = "under_review"
        return DisputeSnapshot.from_stripe(dispute)

    async def retrieve_balance_transaction(self, txn_id: str) -> BalanceTransactionSnapshot:
        self._call("retrieve_balance_transaction")
        return self.balance_transactions[txn_id]

    async def list_balance_transactions(
        self, *, payout: str, starting_after: str | None = None, limit: int = 100
    ) -> Page[BalanceTransactionSnapshot]:
        self._call("list_balance_transactions")
        ids = self.paid_out.get(payout, [])
        if starting_after is not None:
            ids = ids[ids.index(starting_after) + 1 :]
        return Page([self.balance_transactions[i] for i in ids[:limit]], len(ids) > limit)

    async def retrieve_payout(self, payout_id: str) -> PayoutSnapshot:
        self._call("retrieve_payout")
        return self.payouts[payout_id]

    async def list_payouts(
        self,
        *,
        starting_after: str | None = None,
        created_gte: int | None = None,
        limit: int = 100,
    ) -> Page[PayoutSnapshot]:
        self._call("list_payouts")
        payouts = sorted(self.payouts.values(), key=lambda p: p.created, reverse=True)
        payouts = [p for p in payouts if p.created >= (created_gte or 0)]
        ids = [p.id for p in payouts]
        if starting_after is not None:
            payouts = payouts[ids.index(starting_after) + 1 :]
        return Page(payouts[:limit], len(payouts) > limit)

    async def list_events(
        self,
        *,
        limit: int = 100,
        ending_before: str | None = None,
        starting_after: str | None = None,
        created_gte: int | None = None,
    ) -> EventPage:
        """Newest first, paged like Stripe's list."""
        self._call("list_events")
        events = [e for e in reversed(self.events) if e["created"] >= (created_gte or 0)]
        ids = [e["id"] for e in events]
        if ending_before is not None:
            events = events[: ids.index(ending_before)][-limit:]
            return EventPage(events, len(ids[: ids.index(ending_before)]) > limit)
        if starting_after is not None:
            events = events[ids.index(starting_after) + 1 :]
        return EventPage(events[:limit], len(events) > limit)

    async def close(self) -> None:
        return None
