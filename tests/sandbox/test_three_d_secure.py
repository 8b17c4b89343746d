"""3-D Secure: requires_action, then the JSON control or the HTML page decides."""

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer

RETURN_URL = "http://127.0.0.1:9/shop/return?order=42"


def requires_action(
    client: stripe.StripeClient, number: str = "4000002760003184", **params: object
) -> stripe.PaymentIntent:
    body: Any = {"amount": 3100, "currency": "eur", **params}
    pi = client.v1.payment_intents.create(
        body,
        options={"idempotency_key": str(uuid.uuid4())},
    )
    card = {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    confirm: Any = {"payment_method_data": {"type": "card", "card": card}, "return_url": RETURN_URL}
    return client.v1.payment_intents.confirm(pi.id, confirm)


@pytest.mark.parametrize("number", ["4000002500003155", "4000002760003184", "4000000000003220"])
def test_three_d_secure_cards_require_action(
    stripe_client: stripe.StripeClient, sandbox: SandboxServer, number: str
) -> None:
    pi = requires_action(stripe_client, number)

    assert pi.status == "requires_action"
    assert pi.latest_charge is None
    assert pi.next_action is not None
    assert pi.next_action.type == "redirect_to_url"
    redirect = pi.next_action.redirect_to_url
    assert redirect is not None
    assert redirect.url == f"{sandbox.url}/_sandbox/3ds/{pi.id}"
    assert redirect.return_url == RETURN_URL


def test_without_return_url_stripe_js_takes_over(
    stripe_client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    for pm in ("pm_card_authenticationRequired", "pm_card_threeDSecure2Required"):
        pi = stripe_client.v1.payment_intents.create(
            {"amount": 3100, "currency": "eur", "payment_method": pm, "confirm": True}
        )
        assert pi.status == "requires_action"
        assert pi.next_action is not None
        assert pi.next_action.type == "use_stripe_sdk"
        assert pi.next_action["use_stripe_sdk"]["stripe_js"] == (
            f"{sandbox.url}/_sandbox/3ds/{pi.id}"
        )


def test_json_control_completes(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    pi = requires_action(stripe_client)

    answer = http.post(
        f"/_sandbox/payment_intents/{pi.id}/authenticate", json={"outcome": "succeed"}
    )

    assert answer.status_code == 200
    assert answer.json()["status"] == "succeeded"
    got = stripe_client.v1.payment_intents.retrieve(pi.id)
    assert got.status == "succeeded"
    assert got.next_action is None
    charge = stripe_client.v1.charges.retrieve(got.latest_charge)  # type: ignore[arg-type]
    assert charge.payment_method_details.card.three_d_secure.result == "authenticated"  # type: ignore[union-attr]


def test_json_control_completes_into_manual_capture(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    pi = requires_action(stripe_client, capture_method="manual")
    http.post(f"/_sandbox/payment_intents/{pi.id}/authenticate", json={"outcome": "succeed"})
    assert stripe_client.v1.payment_intents.retrieve(pi.id).status == "requires_capture"


def test_json_control_fails(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    pi = requires_action(stripe_client)

    answer = http.post(f"/_sandbox/payment_intents/{pi.id}/authenticate", json={"outcome": "fail"})

    assert answer.status_code == 200
    got = stripe_client.v1.payment_intents.retrieve(pi.id)
    assert got.status == "requires_payment_method"
    assert got.last_payment_error is not None
    assert got.last_payment_error.code == "payment_intent_authentication_failure"
    again = http.post(
        f"/_sandbox/payment_intents/{pi.id}/authenticate", json={"outcome": "succeed"}
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "payment_intent_unexpected_state"


def test_json_control_rejects_other_outcomes(http: httpx.Client) -> None:
    answer = http.post("/_sandbox/payment_intents/pi_x/authenticate", json={"outcome": "maybe"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "outcome"


def test_html_page_has_both_buttons(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    pi = requires_action(stripe_client)

    page = http.get(f"/_sandbox/3ds/{pi.id}")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Complete authentication" in page.text
    assert "Fail authentication" in page.text
    assert "<script" not in page.text
    assert "http" not in page.text.split("<body>")[1]


@pytest.mark.parametrize(
    ("outcome", "redirect_status", "status"),
    [
        ("succeed", "succeeded", "succeeded"),
        ("fail", "failed", "requires_payment_method"),
    ],
)
def test_html_form_redirects_to_the_return_url(
    stripe_client: stripe.StripeClient,
    http: httpx.Client,
    outcome: str,
    redirect_status: str,
    status: str,
) -> None:
    pi = requires_action(stripe_client)

    answer = http.post(f"/_sandbox/3ds/{pi.id}", data={"outcome": outcome})

    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == RETURN_URL.split("?")[0]
    query = parse_qs(location.query)
    assert query["order"] == ["42"]
    assert query["payment_intent"] == [pi.id]
    assert query["payment_intent_client_secret"] == [pi.client_secret]
    assert query["redirect_status"] == [redirect_status]
    assert stripe_client.v1.payment_intents.retrieve(pi.id).status == status


def test_confirm_with_publishable_key_and_client_secret(
    stripe_client: stripe.StripeClient, sandbox: SandboxServer, http: httpx.Client
) -> None:
    pi = stripe_client.v1.payment_intents.create({"amount": 990, "currency": "usd"})
    public = {"Authorization": "Bearer pk_test_sandbox"}

    wrong = http.post(
        f"/v1/payment_intents/{pi.id}/confirm",
        headers=public,
        data={"payment_method": "pm_card_visa", "client_secret": "nope"},
    )
    fetched = http.get(
        f"/v1/payment_intents/{pi.id}", headers=public, params={"client_secret": pi.client_secret}
    )
    confirmed = http.post(
        f"/v1/payment_intents/{pi.id}/confirm",
        headers=public,
        data={"payment_method": "pm_card_visa", "client_secret": pi.client_secret},
    )
    listing = http.get("/v1/payment_intents", headers=public)

    assert wrong.status_code == 400
    assert wrong.json()["error"]["param"] == "client_secret"
    assert fetched.status_code == 200
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "succeeded"
    assert listing.status_code == 401
