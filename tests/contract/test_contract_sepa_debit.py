"""SEPA Direct Debit scenarios, on paydesk's sandbox and on localstripe.

localstripe knows sepa_debit PaymentMethods (an IBAN of 14 to 34 characters, of which it
keeps the country, bank code, last four and a fingerprint) and PaymentIntents paid with
them. It does not take `mandate_data`, which Stripe requires to confirm one with a secret
key, so every confirmation is a sandbox-only case; it knows neither iDEAL nor Bancontact.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from tests.contract.backends import Backend, charge_id

SUCCEEDS = "DE89370400440532013000"
FAILS = "DE62370400440532013001"
HOLDER = {"name": "Jenny Rosen", "email": "jenny@example.com"}
ONLINE: Any = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0 (contract)"},
    }
}
NO_MANDATE_DATA = (
    'accept mandate_data on a confirmation (it answers 400 "Unexpected mandate_data"), which '
    "Stripe requires to confirm a sepa_debit PaymentIntent with a secret key"
)


def sepa_method(backend: Backend, iban: str = SUCCEEDS) -> stripe.PaymentMethod:
    params: Any = {"type": "sepa_debit", "sepa_debit": {"iban": iban}, "billing_details": HOLDER}
    return backend.client.v1.payment_methods.create(params=params)


def sepa_intent(backend: Backend, iban: str = SUCCEEDS) -> stripe.PaymentIntent:
    params: Any = {
        "amount": 1500,
        "currency": "eur",
        "payment_method_types": ["sepa_debit"],
        "payment_method": sepa_method(backend, iban).id,
    }
    return backend.client.v1.payment_intents.create(params=params)


def test_a_sepa_debit_method_keeps_the_account_not_the_iban(backend: Backend) -> None:
    pm = sepa_method(backend)

    assert pm.id.startswith("pm_")
    assert pm.type == "sepa_debit"
    account = pm.sepa_debit
    assert account is not None
    assert (account.country, account.bank_code, account.last4) == ("DE", "37040044", "3000")
    assert account.fingerprint
    assert "iban" not in account.to_dict()
    assert SUCCEEDS not in str(pm.to_dict())
    got = backend.client.v1.payment_methods.retrieve(pm.id)
    assert got.sepa_debit is not None
    assert got.sepa_debit.fingerprint == account.fingerprint


def test_a_too_short_iban_is_an_invalid_request(backend: Backend) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sepa_method(backend, "DE8937040044")

    assert refused.value.http_status == 400
    assert refused.value.error is not None
    assert refused.value.error.type == "invalid_request_error"


def test_an_iban_with_a_wrong_checksum_is_refused(backend: Backend) -> None:
    backend.skip_localstripe("check an IBAN's mod-97 checksum (it checks its length only)")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sepa_method(backend, "DE89370400440532013009")

    assert (refused.value.code, refused.value.param) == (
        "invalid_bank_account_iban",
        "sepa_debit[iban]",
    )


def test_a_sepa_debit_method_needs_the_holders_name_and_email(backend: Backend) -> None:
    backend.skip_localstripe("require billing_details[name] and [email] for sepa_debit")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        backend.client.v1.payment_methods.create(
            params={"type": "sepa_debit", "sepa_debit": {"iban": SUCCEEDS}}
        )

    assert (refused.value.code, refused.value.param) == (
        "parameter_missing",
        "billing_details[name]",
    )


def test_a_sepa_intent_with_its_method_awaits_confirmation(backend: Backend) -> None:
    pi = sepa_intent(backend)

    assert pi.status == "requires_confirmation"
    assert pi.currency == "eur"
    assert pi.latest_charge is None
    got = backend.client.v1.payment_intents.retrieve(pi.id)
    assert got.payment_method == pi.payment_method


def test_a_sepa_intent_lists_its_method_type(backend: Backend) -> None:
    backend.skip_localstripe("return payment_method_types on a PaymentIntent")
    assert sepa_intent(backend).payment_method_types == ["sepa_debit"]


def test_confirming_without_mandate_data_is_refused(backend: Backend) -> None:
    backend.skip_localstripe("require mandate_data to confirm a sepa_debit PaymentIntent")
    pi = sepa_intent(backend)

    with pytest.raises(stripe.InvalidRequestError) as refused:
        backend.client.v1.payment_intents.confirm(pi.id)

    assert refused.value.param == "mandate_data"
    assert backend.client.v1.payment_intents.retrieve(pi.id).status == "requires_confirmation"


def test_a_debit_processes_then_succeeds(backend: Backend) -> None:
    backend.skip_localstripe(NO_MANDATE_DATA)
    pi = sepa_intent(backend)

    confirmed = backend.client.v1.payment_intents.confirm(pi.id, params={"mandate_data": ONLINE})

    assert confirmed.status == "processing"
    charge = backend.client.v1.charges.retrieve(charge_id(confirmed.latest_charge))
    assert charge.status == "pending"
    assert charge.payment_method_details is not None
    sepa = charge.payment_method_details.sepa_debit
    assert sepa is not None
    assert sepa.last4 == "3000"
    assert sepa.mandate is not None
    assert backend.client.v1.mandates.retrieve(sepa.mandate).status == "active"
    backend.advance_clock(60)
    assert backend.client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    assert backend.client.v1.charges.retrieve(charge.id).status == "succeeded"


def test_a_failing_iban_ends_needing_another_method(backend: Backend) -> None:
    backend.skip_localstripe(NO_MANDATE_DATA)
    pi = sepa_intent(backend, FAILS)
    backend.client.v1.payment_intents.confirm(pi.id, params={"mandate_data": ONLINE})

    backend.advance_clock(60)

    got = backend.client.v1.payment_intents.retrieve(pi.id)
    assert got.status == "requires_payment_method"
    assert got.last_payment_error is not None
    charge = backend.client.v1.charges.retrieve(charge_id(got.latest_charge))
    assert charge.status == "failed"
    assert charge.failure_code == got.last_payment_error.code


@pytest.mark.parametrize("kind", ["ideal", "bancontact"])
def test_bank_redirect_methods(backend: Backend, kind: str) -> None:
    backend.skip_localstripe(f"know {kind} PaymentMethods (it takes card and sepa_debit only)")
    pm = backend.client.v1.payment_methods.create(
        params={"type": kind, "billing_details": {"name": "Jenny Rosen"}}
    )
    assert pm.type == kind


def _method_summary(backend: Backend) -> dict[str, object]:
    pm = sepa_method(backend, "FR1420041010050500013M02606")
    assert pm.sepa_debit is not None
    return {
        "type": pm.type,
        "country": pm.sepa_debit.country,
        "last4": pm.sepa_debit.last4,
        "name": pm.billing_details.name,
        "email": pm.billing_details.email,
    }


def test_backends_agree_on_a_sepa_debit_method(
    sandbox_backend: Backend, localstripe_backend: Backend
) -> None:
    assert _method_summary(sandbox_backend) == _method_summary(localstripe_backend)
