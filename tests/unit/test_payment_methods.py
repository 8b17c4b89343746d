"""Which methods can pay which currency, how a method is put in words, how a charge's
`payment_method_details` is read, and the settings that choose the methods."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from paydesk.config import Settings
from paydesk.errors import ConfigurationError
from paydesk.gateway.types import ChargeSnapshot, MethodDetails
from paydesk.payments.methods import describe, describe_payment_method, offered

# Stripe's own example objects (its OpenAPI repository's fixtures3.json).
FIXTURES = Path(__file__).parents[1] / "data" / "stripe_fixtures.json"
KEY = {"STRIPE_SECRET_KEY": "sk_test_unit"}


def types(currency: str, configured: tuple[str, ...] | None) -> list[str]:
    return [m.type for m in offered(currency, configured)]


def test_bank_methods_are_offered_for_euros_only() -> None:
    assert types("eur", None) == ["card", "sepa_debit", "ideal", "bancontact"]
    assert types("EUR", None) == ["card", "sepa_debit", "ideal", "bancontact"]
    assert types("usd", None) == ["card"]
    assert types("jpy", None) == ["card"]


def test_a_pinned_list_is_offered_in_the_checkout_pages_order() -> None:
    assert types("eur", ("ideal", "card")) == ["card", "ideal"]
    assert types("usd", ("sepa_debit", "ideal")) == []
    assert types("usd", ("card", "sepa_debit")) == ["card"]


@pytest.mark.parametrize(
    ("method", "details", "words"),
    [
        ("card", {"brand": "visa", "last4": "4242"}, "Visa •••• 4242"),
        ("card", {"brand": "amex", "last4": "0005"}, "American Express •••• 0005"),
        ("card", {"brand": "cartes_bancaires", "last4": "1001"}, "Cartes Bancaires •••• 1001"),
        ("card", {}, "Card"),
        ("sepa_debit", {"country": "DE", "last4": "3000"}, "SEPA Direct Debit · DE •••• 3000"),
        ("ideal", {"bank": "ing"}, "iDEAL · ING"),
        ("ideal", {"bank": "abn_amro"}, "iDEAL · ABN Amro"),
        ("bancontact", {"bank": "VAN DE PUT & CO"}, "Bancontact · VAN DE PUT & CO"),
        ("klarna", {}, "klarna"),
        ("us_bank_account", {"last4": "6789"}, "us bank account · •••• 6789"),
        (None, {}, None),
    ],
)
def test_a_method_in_words(method: str | None, details: dict[str, str], words: str | None) -> None:
    assert describe(method, **details) == words


def test_a_payments_card_country_is_not_shown() -> None:
    payment = SimpleNamespace(
        method_type="card", method_brand="visa", method_bank=None, method_last4="4242",
        method_country="US",
    )  # fmt: skip
    assert describe_payment_method(payment) == "Visa •••• 4242"


def charge(**fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = json.loads(FIXTURES.read_text())["charge"]
    return {**resource, **fields}


def test_a_card_charge_from_stripes_own_example() -> None:
    method = MethodDetails.from_charge(charge())
    assert method == MethodDetails(
        type="card", charge_status="succeeded", brand="visa", last4="4242", country="US"
    )


def test_a_sepa_debit_charge_names_its_account_and_mandate() -> None:
    details = {
        "type": "sepa_debit",
        "sepa_debit": {
            "bank_code": "37040044", "branch_code": None, "country": "DE",
            "fingerprint": "f", "last4": "3000", "mandate": "mandate_1",
        },
    }  # fmt: skip
    method = MethodDetails.from_charge(charge(status="pending", payment_method_details=details))
    assert method == MethodDetails(
        type="sepa_debit", charge_status="pending", last4="3000", country="DE", mandate="mandate_1"
    )


def test_an_ideal_charges_masked_account_is_not_a_last_four() -> None:
    details = {"type": "ideal", "ideal": {"bank": "ing", "bic": "INGBNL2A", "iban_last4": "****"}}
    method = MethodDetails.from_charge(charge(payment_method_details=details))
    assert method is not None
    assert (method.bank, method.last4) == ("ing", None)
    told = {"type": "ideal", "ideal": {"bank": "ing", "iban_last4": "5264"}}
    method = MethodDetails.from_charge(charge(payment_method_details=told))
    assert method is not None
    assert method.last4 == "5264"


def test_a_charge_without_details_has_no_method() -> None:
    assert MethodDetails.from_charge(charge(payment_method_details=None)) is None


def test_a_failed_charge_says_why() -> None:
    failed = ChargeSnapshot.from_stripe(
        charge(status="failed", failure_code="insufficient_funds",
               failure_message="The customer's account has insufficient funds.")
    )  # fmt: skip
    assert (failed.failure_code, failed.failure_message) == (
        "insufficient_funds",
        "The customer's account has insufficient funds.",
    )


def test_the_methods_setting() -> None:
    assert Settings.from_env(KEY).payment_method_types is None
    pinned = Settings.from_env({**KEY, "PAYDESK_PAYMENT_METHOD_TYPES": " Card, sepa_debit,card "})
    assert pinned.payment_method_types == ("card", "sepa_debit")
    with pytest.raises(ConfigurationError, match="names paypal, which paydesk does not take"):
        Settings.from_env({**KEY, "PAYDESK_PAYMENT_METHOD_TYPES": "card,paypal"})


def test_the_other_settings_of_bank_payments() -> None:
    defaults = Settings.from_env(KEY)
    assert defaults.reconcile_processing_after == timedelta(days=1)
    assert defaults.shop_name == "this shop"
    assert defaults.link_signing_secret == "sk_test_unit"
    chosen = Settings.from_env({
        **KEY, "PAYDESK_RECONCILE_PROCESSING_AFTER": "3600", "PAYDESK_SHOP_NAME": "Tee Shop",
        "PAYDESK_CHECKOUT_LINK_SECRET": "links-only",
    })  # fmt: skip
    assert chosen.reconcile_processing_after == timedelta(hours=1)
    assert chosen.shop_name == "Tee Shop"
    assert chosen.link_signing_secret == "links-only"
