"""API keys, Stripe's error format, and a Request-Id on every answer."""

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer
from tests.sandbox.conftest import ClientFactory, secret_auth


def test_missing_key_is_401(http: httpx.Client) -> None:
    answer = http.get("/v1/payment_intents")

    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "authentication_error"
    assert answer.headers["Request-Id"].startswith("req_")


@pytest.mark.parametrize("key", ["nonsense", "sk_test_", "Bearer"])
def test_other_keys_are_401(http: httpx.Client, key: str) -> None:
    answer = http.get("/v1/payment_intents", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "authentication_error"


def test_live_keys_are_refused_clearly(sandbox: SandboxServer, client_for: ClientFactory) -> None:
    client = client_for(sandbox.url, api_key="sk_live_realmoney")
    with pytest.raises(stripe.AuthenticationError) as raised:
        client.v1.payment_intents.list()
    assert raised.value.http_status == 401
    assert "live" in str(raised.value.user_message)


def test_basic_auth_as_curl_sends_it(http: httpx.Client) -> None:
    answer = http.get("/v1/payment_intents", auth=("sk_test_curl", ""))
    assert answer.status_code == 200


def test_publishable_key_cannot_create(http: httpx.Client) -> None:
    answer = http.post(
        "/v1/payment_intents",
        data={"amount": "100", "currency": "usd"},
        headers={"Authorization": "Bearer pk_test_sandbox"},
    )
    assert answer.status_code == 401
    assert "publishable" in answer.json()["error"]["message"]


def test_every_answer_has_a_request_id(http: httpx.Client) -> None:
    answers = [
        http.get("/_sandbox/health"),
        http.get("/v1/nothing_here", headers=secret_auth()),
        http.post("/v1/payment_intents", data={"currency": "eur"}, headers=secret_auth()),
        http.get("/v1/events", headers=secret_auth()),
    ]
    assert all(answer.headers["Request-Id"].startswith("req_") for answer in answers)
    assert len({answer.headers["Request-Id"] for answer in answers}) == len(answers)


def test_unknown_url_in_stripe_format(http: httpx.Client) -> None:
    answer = http.get("/v1/nothing_here", headers=secret_auth())
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "Unrecognized request URL (GET: /v1/nothing_here)" in error["message"]


def test_error_body_has_stripe_fields(http: httpx.Client) -> None:
    answer = http.post("/v1/payment_intents", data={"currency": "eur"}, headers=secret_auth())
    error = answer.json()["error"]
    assert answer.status_code == 400
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "parameter_missing"
    assert error["param"] == "amount"
    assert error["message"] == "Missing required param: amount."
    assert error["request_log_url"].endswith(answer.headers["Request-Id"])


def test_wrong_method_is_an_unrecognized_url(http: httpx.Client) -> None:
    answer = http.delete("/v1/payment_intents", headers=secret_auth())
    assert answer.status_code == 404
    assert answer.headers["Request-Id"].startswith("req_")
    assert (
        "Unrecognized request URL (DELETE: /v1/payment_intents)"
        in answer.json()["error"]["message"]
    )
