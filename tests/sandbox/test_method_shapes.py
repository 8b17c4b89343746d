"""The bank payment methods' objects have Stripe's keys.

Stripe's fixtures (tests/data/stripe_fixtures.json) show a card PaymentMethod and charge; the
other types' hashes are checked against the official SDK's types, which Stripe generates from
the same OpenAPI document. The Mandate's keys are those of the fixture of fixtures3.json
(`single_use` and `on_behalf_of` are optional there, and absent from a multi-use mandate).
"""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer
from tests.sandbox.conftest import secret_auth

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "data" / "stripe_fixtures.json").read_text()
)
MANDATE_KEYS = {
    "customer_acceptance",
    "id",
    "livemode",
    "multi_use",
    "object",
    "payment_method",
    "payment_method_details",
    "status",
    "type",
}
ONLINE = {
    "mandate_data[customer_acceptance][type]": "online",
    "mandate_data[customer_acceptance][online][ip_address]": "203.0.113.7",
    "mandate_data[customer_acceptance][online][user_agent]": "Mozilla/5.0",
}


def sdk_keys(cls: type) -> set[str]:
    return {key for key in cls.__annotations__ if key != "OBJECT_NAME"}


@pytest.fixture(scope="module")
def served(sandbox: SandboxServer) -> dict[str, dict[str, Any]]:
    """A paid SEPA debit, iDEAL and Bancontact payment, as raw JSON."""
    with httpx.Client(base_url=sandbox.url, headers=secret_auth()) as http:
        holder = {"billing_details[name]": "Jenny Rosen"}
        sepa = http.post(
            "/v1/payment_intents",
            data={
                "amount": "1000",
                "currency": "eur",
                "payment_method_types[]": "sepa_debit",
                "payment_method": "pm_success_de",
                "confirm": "true",
                "expand[]": "latest_charge",
                **ONLINE,
            },
        ).json()
        charges = {"sepa_debit": sepa["latest_charge"]}
        methods = {"sepa_debit": http.get(f"/v1/payment_methods/{sepa['payment_method']}").json()}
        for kind in ("ideal", "bancontact"):
            pm = http.post("/v1/payment_methods", data={"type": kind, **holder}).json()
            pi = http.post(
                "/v1/payment_intents",
                data={
                    "amount": "1000",
                    "currency": "eur",
                    "payment_method_types[]": kind,
                    "payment_method": pm["id"],
                    "confirm": "true",
                    "return_url": "https://shop.example/back",
                },
            ).json()
            httpx.post(
                f"{sandbox.url}/_sandbox/payment_intents/{pi['id']}/authenticate",
                json={"outcome": "succeed"},
            )
            paid = http.get(f"/v1/payment_intents/{pi['id']}").json()
            charges[kind] = http.get(f"/v1/charges/{paid['latest_charge']}").json()
            methods[kind] = pm
        mandate_id = charges["sepa_debit"]["payment_method_details"]["sepa_debit"]["mandate"]
        return {
            "payment_intent": sepa,
            "mandate": http.get(f"/v1/mandates/{mandate_id}").json(),
            **{f"charge.{kind}": charge for kind, charge in charges.items()},
            **{f"payment_method.{kind}": pm for kind, pm in methods.items()},
        }


PAYMENT_METHOD_HASHES = {
    "sepa_debit": stripe.PaymentMethod.SepaDebit,
    "ideal": stripe.PaymentMethod.Ideal,
    "bancontact": stripe.PaymentMethod.Bancontact,
}
CHARGE_DETAILS = {
    "sepa_debit": stripe.Charge.PaymentMethodDetails.SepaDebit,
    "ideal": stripe.Charge.PaymentMethodDetails.Ideal,
    "bancontact": stripe.Charge.PaymentMethodDetails.Bancontact,
}


@pytest.mark.parametrize("kind", list(PAYMENT_METHOD_HASHES))
def test_payment_methods_have_stripes_keys(served: dict[str, dict[str, Any]], kind: str) -> None:
    pm = served[f"payment_method.{kind}"]
    card_keys = set(FIXTURES["payment_method"])
    assert set(pm) == card_keys - {"card"} | {kind}
    assert set(pm[kind]) == sdk_keys(PAYMENT_METHOD_HASHES[kind])
    if kind == "sepa_debit":
        assert set(pm[kind]["generated_from"]) == sdk_keys(
            stripe.PaymentMethod.SepaDebit.GeneratedFrom
        )


@pytest.mark.parametrize("kind", list(CHARGE_DETAILS))
def test_charges_have_stripes_keys(served: dict[str, dict[str, Any]], kind: str) -> None:
    charge = served[f"charge.{kind}"]
    assert set(charge) == set(FIXTURES["charge"])
    assert set(charge["payment_method_details"]) == {"type", kind}
    assert set(charge["payment_method_details"][kind]) == sdk_keys(CHARGE_DETAILS[kind])


def test_the_mandate_has_stripes_keys(served: dict[str, dict[str, Any]]) -> None:
    mandate = served["mandate"]
    assert set(mandate) == MANDATE_KEYS
    assert sdk_keys(stripe.Mandate) >= MANDATE_KEYS
    assert set(mandate["customer_acceptance"]) == {"accepted_at", "online", "type"}
    assert set(mandate["payment_method_details"]["sepa_debit"]) == {"reference", "url"}


def test_a_processing_intent_has_stripes_keys(served: dict[str, dict[str, Any]]) -> None:
    pi = served["payment_intent"]
    assert pi["status"] == "processing"
    assert set(pi) == set(FIXTURES["payment_intent"])
    assert pi["payment_method_options"] == {"sepa_debit": {}}
