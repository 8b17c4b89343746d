"""Stripe events as Stripe sends them, signed as Stripe signs them, for tests and benches."""

from __future__ import annotations

import itertools
import time
from typing import Any

import orjson

from paydesk.sandbox.signing import signature_header

_ids = itertools.count(1)

# `sign(body, secret[, timestamp])`: the `Stripe-Signature` header, made as the sandbox makes it.
sign = signature_header


def event(event_type: str, obj: dict[str, Any], *, created: int | None = None,
          livemode: bool = False, event_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "id": event_id or f"evt_test{next(_ids):08d}{int(time.time() * 1000) % 10**6:06d}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def payment_intent(
    intent_id: str, status: str, amount: int, currency: str = "usd", **fields: Any
) -> dict[str, Any]:
    succeeded = status == "succeeded"
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": amount if status == "requires_capture" else 0,
        "amount_received": amount if succeeded else 0,
        "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_x",
        "created": int(time.time()),
        "currency": currency,
        "last_payment_error": None,
        "latest_charge": f"ch_{intent_id[3:]}" if succeeded else None,
        "livemode": False,
        "metadata": {},
        "next_action": None,
        "payment_method": "pm_card_visa",
        "payment_method_types": ["card"],
        "status": status,
        **fields,
    }


def charge(intent_id: str, amount: int, currency: str = "usd", **fields: Any) -> dict[str, Any]:
    return {
        "id": f"ch_{intent_id[3:]}",
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "captured": True,
        "currency": currency,
        "paid": True,
        "payment_intent": intent_id,
        "refunded": False,
        "status": "succeeded",
        **fields,
    }


def refund(intent_id: str, refund_id: str, amount: int, status: str = "succeeded",
           currency: str = "usd") -> dict[str, Any]:  # fmt: skip
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "charge": f"ch_{intent_id[3:]}",
        "currency": currency,
        "payment_intent": intent_id,
        "reason": "requested_by_customer",
        "status": status,
    }


def dispute(intent_id: str, dispute_id: str, amount: int, status: str,
            currency: str = "usd", fee: int = 1500) -> dict[str, Any]:  # fmt: skip
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [
            {
                "id": f"txn_{dispute_id}",
                "object": "balance_transaction",
                "amount": -amount,
                "fee": fee,
                "net": -amount - fee,
                "currency": currency,
                "type": "adjustment",
                "reporting_category": "dispute",
                "source": dispute_id,
                "status": "available",
                "created": 1700000000,
                "available_on": 1700000000,
                "exchange_rate": None,
                "fee_details": [
                    {
                        "amount": fee,
                        "currency": currency,
                        "type": "stripe_fee",
                        "description": "Dispute fee",
                        "application": None,
                    }
                ],
            }
        ],
        "charge": f"ch_{intent_id[3:]}",
        "currency": currency,
        "payment_intent": intent_id,
        "reason": "fraudulent",
        "status": status,
    }


def dumps(value: dict[str, Any]) -> bytes:
    return orjson.dumps(value)
