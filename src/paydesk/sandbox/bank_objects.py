"""Builders for the bank payment methods' objects: their PaymentMethod hashes, Mandates, and
their charges' `payment_method_details`, with the keys Stripe's API reference gives them
(the fixtures of objects.py have a card only; the official SDK's types, generated from the
same OpenAPI document, name the rest)."""

from paydesk.sandbox.bank_redirects import (
    BANCONTACT_TEST_ACCOUNT,
    IDEAL_BANKS,
    IDEAL_IBAN_LAST4,
)
from paydesk.sandbox.errors import StripeObject
from paydesk.sandbox.iban import IbanParts


def sepa_debit_hash(parts: IbanParts, fingerprint: str) -> StripeObject:
    """A `sepa_debit` PaymentMethod's hash: where the account is, never its number."""
    return {
        "bank_code": parts.bank_code,
        "branch_code": parts.branch_code,
        "country": parts.country,
        "fingerprint": fingerprint,
        "generated_from": {"charge": None, "setup_attempt": None},
        "last4": parts.last4,
    }


def ideal_hash(bank: str | None) -> StripeObject:
    known = IDEAL_BANKS.get(bank or "")
    return {"bank": bank, "bic": known.bic if known else None}


def mandate(
    mandate_id: str,
    *,
    payment_method: str,
    customer_acceptance: StripeObject,
    reference: str,
    url: str,
) -> StripeObject:
    """A SEPA Direct Debit mandate, active from the payment's confirmation on."""
    return {
        "customer_acceptance": customer_acceptance,
        "id": mandate_id,
        "livemode": False,
        "multi_use": {},
        "object": "mandate",
        "payment_method": payment_method,
        "payment_method_details": {
            "sepa_debit": {"reference": reference, "url": url},
            "type": "sepa_debit",
        },
        "status": "active",
        "type": "multi_use",
    }


def sepa_debit_details(payment_method: StripeObject, mandate_id: str) -> StripeObject:
    """A SEPA debit charge's `payment_method_details`."""
    account = payment_method["sepa_debit"]
    return {
        "sepa_debit": {
            "bank_code": account["bank_code"],
            "branch_code": account["branch_code"],
            "country": account["country"],
            "expected_debit_date": None,
            "fingerprint": account["fingerprint"],
            "last4": account["last4"],
            "mandate": mandate_id,
        },
        "type": "sepa_debit",
    }


def ideal_details(payment_method: StripeObject) -> StripeObject:
    """An iDEAL charge's `payment_method_details`, as Stripe's test mode fills them in."""
    name = payment_method["billing_details"]["name"]
    return {
        "ideal": {
            **payment_method["ideal"],
            "generated_sepa_debit": None,
            "generated_sepa_debit_mandate": None,
            "iban_last4": IDEAL_IBAN_LAST4,
            "transaction_id": None,
            "verified_name": name.upper() if name else None,
        },
        "type": "ideal",
    }


def bancontact_details(payment_method: StripeObject, preferred_language: str) -> StripeObject:
    """A Bancontact charge's `payment_method_details`, from Stripe's test bank account."""
    account = BANCONTACT_TEST_ACCOUNT
    return {
        "bancontact": {
            "bank_code": account.bank_code,
            "bank_name": account.bank_name,
            "bic": account.bic,
            "generated_sepa_debit": None,
            "generated_sepa_debit_mandate": None,
            "iban_last4": account.iban_last4,
            "preferred_language": preferred_language,
            "verified_name": payment_method["billing_details"]["name"],
        },
        "type": "bancontact",
    }
