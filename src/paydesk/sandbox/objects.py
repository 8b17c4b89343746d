"""Builders for Stripe objects with exactly the keys Stripe's own fixtures have."""

import time
from typing import Any

import orjson

from paydesk.sandbox.errors import StripeObject


def now() -> int:
    return int(time.time())


def billing_details(details: dict[str, Any] | None) -> StripeObject:
    """`billing_details` as given (`billing_details[name]` & co.), every key present."""
    details = details or {}
    address = details.get("address") if isinstance(details.get("address"), dict) else {}
    return {
        "address": {
            key: (address or {}).get(key)
            for key in ("city", "country", "line1", "line2", "postal_code", "state")
        },
        "email": details.get("email"),
        "name": details.get("name"),
        "phone": details.get("phone"),
        "tax_id": None,
    }


def payment_method(
    pm_id: str,
    *,
    kind: str,
    details: StripeObject,
    metadata: dict[str, str],
    billing: dict[str, Any] | None,
) -> StripeObject:
    """A PaymentMethod of any type: `details` is its type's hash (`card`, `sepa_debit`, ...)."""
    return {
        "allow_redisplay": "unspecified",
        "billing_details": billing_details(billing),
        kind: details,
        "created": now(),
        "customer": None,
        "id": pm_id,
        "livemode": False,
        "metadata": metadata,
        "object": "payment_method",
        "type": kind,
        "customer_account": None,
    }


def card_payment_method(
    pm_id: str,
    *,
    brand: str,
    last4: str,
    exp_month: int,
    exp_year: int,
    funding: str,
    fingerprint: str,
    metadata: dict[str, str],
    billing_details: dict[str, Any] | None = None,
) -> StripeObject:
    card = {
        "brand": brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "unchecked",
        },
        "country": "US",
        "display_brand": brand,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": fingerprint,
        "funding": funding,
        "generated_from": None,
        "last4": last4,
        "networks": {"available": [brand], "preferred": None},
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
        "regulated_status": "unregulated",
    }
    return payment_method(
        pm_id, kind="card", details=card, metadata=metadata, billing=billing_details
    )


def payment_intent(
    pi_id: str,
    *,
    amount: int,
    currency: str,
    client_secret: str,
    capture_method: str,
    metadata: dict[str, str],
    description: str | None,
    receipt_email: str | None,
    automatic_payment_methods: StripeObject | None,
    payment_method_types: list[str],
    payment_method_options: StripeObject,
) -> StripeObject:
    return {
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": automatic_payment_methods,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": capture_method,
        "client_secret": client_secret,
        "confirmation_method": "automatic",
        "created": now(),
        "currency": currency,
        "customer": None,
        "description": description,
        "id": pi_id,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "object": "payment_intent",
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": payment_method_options,
        "payment_method_types": payment_method_types,
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
        "source": None,
        "excluded_payment_method_types": None,
        "customer_account": None,
        "managed_payments": None,
    }


def charge_outcome(
    succeeded: bool, decline_code: str | None = None, *, risk_level: str = "not_assessed"
) -> StripeObject:
    """A charge's `outcome` once the bank has answered; Radar assesses cards only (a card's
    score and rule are radar.py's)."""
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network" if succeeded else "declined_by_network",
        "reason": None if succeeded else decline_code,
        "risk_level": risk_level,
        "seller_message": (
            "Payment complete."
            if succeeded
            else "The bank did not return any further details with this decline."
        ),
        "type": "authorized" if succeeded else "issuer_declined",
    }


def card_details(payment_method: StripeObject, amount: int, succeeded: bool) -> StripeObject:
    """`payment_method_details` of a card charge."""
    card = payment_method["card"]
    return {
        "card": {
            "amount_authorized": amount if succeeded else None,
            "brand": card["brand"],
            "checks": card["checks"],
            "country": card["country"],
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "extended_authorization": {"status": "disabled"},
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": card["last4"],
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": card["brand"],
            "network_token": {"used": False},
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "three_d_secure": None,
            "wallet": None,
            "authorization_code": None,
            "regulated_status": card["regulated_status"],
            "network_transaction_id": None,
            "transaction_link_id": None,
        },
        "type": "card",
    }


def charge(
    ch_id: str,
    *,
    intent: StripeObject,
    payment_method: StripeObject,
    succeeded: bool,
    captured: bool,
    balance_transaction: str | None,
    failure_code: str | None = None,
    failure_message: str | None = None,
    decline_code: str | None = None,
    payment_method_details: StripeObject | None = None,
    pending: bool = False,
    outcome: StripeObject | None = None,
    fraud_details: StripeObject | None = None,
) -> StripeObject:
    """A charge of `intent`; a card's details unless `payment_method_details` says other.
    A `pending` one (a bank debit on its way) has no outcome yet and is not paid; a card's
    outcome, with Radar's evaluation, comes from radar.py."""
    amount: int = intent["amount"]
    if payment_method_details is None:
        payment_method_details = card_details(payment_method, amount, succeeded)
    if outcome is None and not pending:
        outcome = charge_outcome(succeeded, decline_code)
    status = "pending" if pending else "succeeded" if succeeded else "failed"
    return {
        "amount": amount,
        "amount_captured": amount if captured else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": balance_transaction,
        "billing_details": payment_method["billing_details"],
        "calculated_statement_descriptor": "PAYDESK SANDBOX",
        "captured": captured,
        "created": now(),
        "currency": intent["currency"],
        "customer": None,
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": failure_code,
        "failure_message": failure_message,
        "fraud_details": fraud_details or {},
        "id": ch_id,
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "object": "charge",
        "on_behalf_of": None,
        "outcome": outcome,
        "paid": succeeded and not pending,
        "payment_intent": intent["id"],
        "payment_method": payment_method["id"],
        "payment_method_details": payment_method_details,
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": {
            "data": [],
            "has_more": False,
            "object": "list",
            "url": f"/v1/charges/{ch_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
        "source": None,
    }


def event(
    evt_id: str,
    *,
    event_type: str,
    snapshot: StripeObject | orjson.Fragment,
    api_version: str,
    pending_webhooks: int,
    request_id: str | None,
    idempotency_key: str | None,
    previous_attributes: dict[str, Any] | None = None,
) -> StripeObject:
    data: StripeObject = {"object": snapshot}
    if previous_attributes:
        data["previous_attributes"] = previous_attributes
    return {
        "api_version": api_version,
        "created": now(),
        "data": data,
        "id": evt_id,
        "livemode": False,
        "object": "event",
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }


def webhook_endpoint(
    we_id: str,
    *,
    url: str,
    enabled_events: list[str],
    api_version: str | None,
    description: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    return {
        "api_version": api_version,
        "application": None,
        "created": now(),
        "description": description,
        "enabled_events": enabled_events,
        "id": we_id,
        "livemode": False,
        "metadata": metadata,
        "object": "webhook_endpoint",
        "status": "enabled",
        "url": url,
    }


def refund(
    re_id: str,
    *,
    charge: StripeObject,
    amount: int,
    reason: str | None,
    metadata: dict[str, str],
    balance_transaction: str,
) -> StripeObject:
    """A refund of `charge`; where it goes is told for a card only (Stripe's destination
    details have no hash for the bank payment methods)."""
    card_destination = {
        "card": {
            "reference_status": "pending",
            "reference_type": "acquirer_reference_number",
            "type": "refund",
        },
        "type": "card",
    }
    return {
        "amount": amount,
        "balance_transaction": balance_transaction,
        "charge": charge["id"],
        "created": now(),
        "currency": charge["currency"],
        "destination_details": (
            card_destination if charge["payment_method_details"]["type"] == "card" else None
        ),
        "id": re_id,
        "metadata": metadata,
        "object": "refund",
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
        "customer": None,
        "customer_account": None,
        "payment_method": charge["payment_method"],
    }


EVIDENCE_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)

# Visa's reason codes for Stripe's dispute reasons, as shown in payment_method_details.
_NETWORK_REASON_CODES = {
    "fraudulent": "10.4",
    "product_not_received": "13.1",
    "subscription_canceled": "13.2",
    "product_unacceptable": "13.3",
    "credit_not_processed": "13.6",
    "duplicate": "12.6.1",
    "unrecognized": "10.4",
}


def dispute(
    dp_id: str,
    *,
    charge: StripeObject,
    amount: int,
    reason: str,
    inquiry: bool,
    due_by: int,
) -> StripeObject:
    """A dispute of `charge`. Stripe's dispute details describe card disputes (and a few
    wallets); a bank debit's dispute has none."""
    details: StripeObject | None = None
    if charge["payment_method_details"]["type"] == "card":
        brand: str = charge["payment_method_details"]["card"]["brand"]
        details = {
            "card": {
                "brand": brand,
                "case_type": "inquiry" if inquiry else "chargeback",
                "network_reason_code": _NETWORK_REASON_CODES.get(reason, "13.7"),
                "network": brand,
            },
            "type": "card",
        }
    return {
        "amount": amount,
        "balance_transactions": [],
        "charge": charge["id"],
        "created": now(),
        "currency": charge["currency"],
        "evidence": {**dict.fromkeys(EVIDENCE_FIELDS), "enhanced_evidence": {}},
        "evidence_details": {
            "due_by": due_by,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "enhanced_eligibility": {},
        },
        "id": dp_id,
        "is_charge_refundable": inquiry,
        "livemode": False,
        "metadata": {},
        "object": "dispute",
        "payment_intent": charge["payment_intent"],
        "payment_method_details": details,
        "reason": reason,
        "status": "warning_needs_response" if inquiry else "needs_response",
        "enhanced_eligibility_types": [],
    }


def balance_transaction(
    txn_id: str,
    *,
    amount: int,
    fee: int,
    fee_description: str,
    currency: str,
    exchange_rate: float | None,
    created: int,
    available_on: int,
    description: str | None,
    reporting_category: str,
    source: str,
    status: str,
    kind: str,
) -> StripeObject:
    """Money moving in or out of the balance: `amount` and `fee` in the settlement currency,
    one `stripe_fee` entry in fee_details when there is a fee."""
    fee_details = (
        [
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": fee_description,
                "type": "stripe_fee",
            }
        ]
        if fee
        else []
    )
    return {
        "amount": amount,
        "available_on": available_on,
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": exchange_rate,
        "fee": fee,
        "fee_details": fee_details,
        "id": txn_id,
        "net": amount - fee,
        "object": "balance_transaction",
        "reporting_category": reporting_category,
        "source": source,
        "status": status,
        "type": kind,
        "balance_type": "payments",
    }


def dispute_balance_transaction(
    txn_id: str,
    *,
    dispute: StripeObject,
    amount: int,
    fee: int,
    withdrawal: bool,
    currency: str | None = None,
    exchange_rate: float | None = None,
) -> StripeObject:
    """The money a dispute moves: the withdrawal with Stripe's fee, or its reinstatement;
    in `currency` (the settlement currency) when given, else the dispute's."""
    created = now()
    return balance_transaction(
        txn_id,
        amount=amount,
        fee=fee,
        fee_description="Dispute fee",
        currency=currency or dispute["currency"],
        exchange_rate=exchange_rate,
        created=created,
        available_on=created,
        description=(
            f"Chargeback withdrawal for {dispute['charge']}"
            if withdrawal
            else f"Chargeback reversal for {dispute['charge']}"
        ),
        reporting_category="dispute" if withdrawal else "dispute_reversal",
        source=dispute["id"],
        status="available",
        kind="adjustment",
    )


def deleted(object_id: str, kind: str) -> StripeObject:
    return {"id": object_id, "object": kind, "deleted": True}


def list_object(data: list[StripeObject], has_more: bool, url: str) -> StripeObject:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
