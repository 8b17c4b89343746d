"""iDEAL and Bancontact: requires_action, the sandbox's bank page, and back to the shop."""

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer
from tests.sandbox.conftest import form

RETURN_URL = "http://127.0.0.1:9/shop/return?order=7"


def redirect_method(client: stripe.StripeClient, kind: str, **details: Any) -> stripe.PaymentMethod:
    params: Any = {"type": kind, "billing_details": {"name": "Jenny Rosen"}, **details}
    return client.v1.payment_methods.create(params)


def sent_to_bank(
    client: stripe.StripeClient, kind: str = "ideal", amount: int = 1999, **details: Any
) -> stripe.PaymentIntent:
    pm = redirect_method(client, kind, **details)
    params: Any = {
        "amount": amount,
        "currency": "eur",
        "payment_method_types": [kind],
        "payment_method": pm.id,
        "confirm": True,
        "return_url": RETURN_URL,
    }
    return client.v1.payment_intents.create(params, options={"idempotency_key": str(uuid.uuid4())})


def test_an_ideal_method_names_its_bank(stripe_client: stripe.StripeClient) -> None:
    pm = redirect_method(stripe_client, "ideal", ideal={"bank": "rabobank"})
    assert pm.type == "ideal"
    assert pm.ideal is not None
    assert (pm.ideal.bank, pm.ideal.bic) == ("rabobank", "RABONL2U")
    bankless = stripe_client.v1.payment_methods.create({"type": "ideal"})
    assert bankless.ideal is not None
    assert (bankless.ideal.bank, bankless.ideal.bic) == (None, None)


def test_an_unknown_ideal_bank_is_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        redirect_method(stripe_client, "ideal", ideal={"bank": "bank_of_nowhere"})
    assert refused.value.param == "ideal[bank]"
    assert refused.value.user_message is not None
    assert "abn_amro" in refused.value.user_message


def test_a_bancontact_method_needs_the_holders_name(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_methods.create({"type": "bancontact"})
    assert (refused.value.code, refused.value.param) == (
        "parameter_missing",
        "billing_details[name]",
    )
    pm = redirect_method(stripe_client, "bancontact")
    assert pm.type == "bancontact"
    assert pm.to_dict()["bancontact"] == {}


@pytest.mark.parametrize("kind", ["ideal", "bancontact"])
def test_confirming_sends_the_customer_to_the_bank(
    stripe_client: stripe.StripeClient, sandbox: SandboxServer, kind: str
) -> None:
    pi = sent_to_bank(stripe_client, kind)

    assert pi.status == "requires_action"
    assert pi.latest_charge is None
    assert pi.next_action is not None
    assert pi.next_action.type == "redirect_to_url"
    redirect = pi.next_action.redirect_to_url
    assert redirect is not None
    assert redirect.url == f"{sandbox.url}/_sandbox/redirect/{pi.id}"
    assert redirect.return_url == RETURN_URL
    listed = stripe_client.v1.events.list({"type": "payment_intent.requires_action"}).data
    assert pi.id in {event.data.object["id"] for event in listed}


def test_the_bank_page_names_the_bank_and_the_amount(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    pi = sent_to_bank(stripe_client, "ideal", amount=1999, ideal={"bank": "ing"})

    page = http.get(f"/_sandbox/redirect/{pi.id}")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "iDEAL · ING" in page.text
    assert "€19.99 eur" in page.text
    assert "Authorize test payment" in page.text
    assert "Fail test payment" in page.text
    assert f'action="/_sandbox/redirect/{pi.id}"' in page.text
    assert "<script" not in page.text
    assert "http" not in page.text.split("<body>")[1]


def back_to_the_shop(answer: httpx.Response, pi: stripe.PaymentIntent) -> dict[str, list[str]]:
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == RETURN_URL.split("?")[0]
    query = parse_qs(location.query)
    assert query["order"] == ["7"]
    assert query["payment_intent"] == [pi.id]
    assert query["payment_intent_client_secret"] == [pi.client_secret]
    return query


def test_authorizing_at_ideal_pays(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    pi = sent_to_bank(stripe_client, "ideal", ideal={"bank": "ing"})

    answer = http.post(f"/_sandbox/redirect/{pi.id}", data={"outcome": "succeed"})

    assert back_to_the_shop(answer, pi)["redirect_status"] == ["succeeded"]
    got = stripe_client.v1.payment_intents.retrieve(pi.id, {"expand": ["latest_charge"]})
    assert (got.status, got.amount_received, got.next_action) == ("succeeded", 1999, None)
    charge = got.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert (charge.status, charge.paid) == ("succeeded", True)
    assert str(charge.balance_transaction).startswith("txn_")
    details = charge.payment_method_details
    assert details is not None
    assert details.type == "ideal"
    assert details.ideal is not None
    assert details.ideal.to_dict() == {
        "bank": "ing",
        "bic": "INGBNL2A",
        "generated_sepa_debit": None,
        "generated_sepa_debit_mandate": None,
        "iban_last4": "****",
        "transaction_id": None,
        "verified_name": "JENNY ROSEN",
    }
    listed = stripe_client.v1.events.list({"limit": 10}).data
    about = [e.type for e in reversed(listed) if e.data.object["id"] in (pi.id, charge.id)]
    assert about[-2:] == ["charge.succeeded", "payment_intent.succeeded"]


def test_authorizing_at_bancontact_pays(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    pm = redirect_method(stripe_client, "bancontact")
    pi = stripe_client.v1.payment_intents.create(
        form(
            {
                "amount": 1500,
                "currency": "eur",
                "payment_method_types": ["bancontact"],
                "payment_method_options": {"bancontact": {"preferred_language": "fr"}},
            }
        )
    )
    assert pi.payment_method_options is not None
    assert pi.payment_method_options.to_dict() == {"bancontact": {"preferred_language": "fr"}}
    pi = stripe_client.v1.payment_intents.confirm(
        pi.id, form({"payment_method": pm.id, "return_url": RETURN_URL})
    )
    assert "Bancontact" in http.get(f"/_sandbox/redirect/{pi.id}").text

    answer = http.post(f"/_sandbox/redirect/{pi.id}", data={"outcome": "succeed"})

    assert back_to_the_shop(answer, pi)["redirect_status"] == ["succeeded"]
    got = stripe_client.v1.payment_intents.retrieve(pi.id)
    charge = stripe_client.v1.charges.retrieve(str(got.latest_charge))
    assert charge.payment_method_details is not None
    bancontact = charge.payment_method_details.bancontact
    assert bancontact is not None
    assert bancontact.to_dict() == {
        "bank_code": "VAPE",
        "bank_name": "VAN DE PUT & CO",
        "bic": "VAPEBE22",
        "generated_sepa_debit": None,
        "generated_sepa_debit_mandate": None,
        "iban_last4": "7061",
        "preferred_language": "fr",
        "verified_name": "Jenny Rosen",
    }


@pytest.mark.parametrize("kind", ["ideal", "bancontact"])
def test_failing_at_the_bank_needs_another_method(
    stripe_client: stripe.StripeClient, http: httpx.Client, kind: str
) -> None:
    pi = sent_to_bank(stripe_client, kind)

    answer = http.post(f"/_sandbox/redirect/{pi.id}", data={"outcome": "fail"})

    assert back_to_the_shop(answer, pi)["redirect_status"] == ["failed"]
    got = stripe_client.v1.payment_intents.retrieve(pi.id)
    assert (got.status, got.payment_method, got.latest_charge) == (
        "requires_payment_method",
        None,
        None,
    )
    error = got.last_payment_error
    assert error is not None
    assert (error.code, error.type) == (
        "payment_intent_authentication_failure",
        "invalid_request_error",
    )
    assert error.payment_method is not None
    assert error.payment_method.type == kind
    failed = stripe_client.v1.events.list({"type": "payment_intent.payment_failed"}).data
    assert pi.id in {event.data.object["id"] for event in failed}


def test_a_payment_no_longer_at_the_bank_gets_a_clear_answer(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    pi = sent_to_bank(stripe_client)
    http.post(f"/_sandbox/redirect/{pi.id}", data={"outcome": "succeed"})

    again = http.post(f"/_sandbox/redirect/{pi.id}", data={"outcome": "fail"})
    page = http.get(f"/_sandbox/redirect/{pi.id}")
    unknown = http.get("/_sandbox/redirect/pi_nothing_here")

    assert again.status_code == 400
    assert "its status is succeeded" in again.text
    assert page.status_code == 200
    assert "succeeded" in page.text
    assert "Authorize test payment" not in page.text
    assert unknown.status_code == 404
    assert stripe_client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


@pytest.mark.parametrize(
    ("outcome", "status"), [("succeed", "succeeded"), ("fail", "requires_payment_method")]
)
def test_the_json_control_answers_the_bank_too(
    stripe_client: stripe.StripeClient, http: httpx.Client, outcome: str, status: str
) -> None:
    pi = sent_to_bank(stripe_client, "bancontact")

    answer = http.post(f"/_sandbox/payment_intents/{pi.id}/authenticate", json={"outcome": outcome})

    assert answer.status_code == 200
    assert answer.json()["status"] == status
    assert stripe_client.v1.payment_intents.retrieve(pi.id).status == status


@pytest.mark.parametrize("kind", ["ideal", "bancontact"])
def test_a_redirect_method_needs_a_return_url(
    stripe_client: stripe.StripeClient, kind: str
) -> None:
    pm = redirect_method(stripe_client, kind)
    pi = stripe_client.v1.payment_intents.create(
        form(
            {
                "amount": 1000,
                "currency": "eur",
                "payment_method_types": [kind],
                "payment_method": pm.id,
            }
        )
    )

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_intents.confirm(pi.id)

    assert (refused.value.code, refused.value.param) == (
        "payment_intent_redirect_confirmation_without_return_url",
        "return_url",
    )
    assert stripe_client.v1.payment_intents.retrieve(pi.id).status == "requires_confirmation"


def test_a_return_url_must_be_a_url(stripe_client: stripe.StripeClient) -> None:
    pm = redirect_method(stripe_client, "ideal")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_intents.create(
            form(
                {
                    "amount": 1000,
                    "currency": "eur",
                    "payment_method_types": ["ideal"],
                    "payment_method": pm.id,
                    "confirm": True,
                    "return_url": "not a url",
                }
            )
        )
    assert (refused.value.code, refused.value.param) == ("url_invalid", "return_url")


@pytest.mark.parametrize("kind", ["ideal", "bancontact"])
def test_redirect_methods_cannot_be_captured_manually(
    stripe_client: stripe.StripeClient, kind: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_intents.create(
            form(
                {
                    "amount": 1000,
                    "currency": "eur",
                    "payment_method_types": [kind],
                    "capture_method": "manual",
                }
            )
        )
    assert refused.value.param == "capture_method"
