"""Radar in the sandbox: the risk fields of every card charge's outcome, the blocks of the
highest-risk test cards, and early fraud warnings (docs.stripe.com/radar/testing)."""

from typing import Any

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer
from tests.sandbox.conftest import form, pay, secret_auth

# The keys of Stripe's example warning (fixtures3.json), with `payment_intent`, which its
# API reference has and the example leaves out.
WARNING_KEYS = {
    "actionable",
    "charge",
    "created",
    "fraud_type",
    "id",
    "livemode",
    "object",
    "payment_intent",
}


def warn(http: httpx.Client, ch_id: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return http.post(f"/_sandbox/charges/{ch_id}/early_fraud_warning", json=body or {})


def related_events(client: stripe.StripeClient, ids: set[str]) -> list[str]:
    """The types of the latest events about the given objects, oldest first."""
    events = client.v1.events.list({"limit": 50}).data
    return [
        event.type for event in reversed(events) if event.data.object.to_dict().get("id") in ids
    ]


# -- the outcome of a charge -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "risk_level", "kind", "reason", "scores"),
    [
        ("4242424242424242", "normal", "authorized", None, range(0, 65)),
        ("4000000000009235", "elevated", "manual_review", "elevated_risk_level", range(65, 75)),
    ],
)
def test_a_succeeded_card_charge_carries_radars_evaluation(
    stripe_client: stripe.StripeClient,
    card: str,
    risk_level: str,
    kind: str,
    reason: str | None,
    scores: range,
) -> None:
    pi = pay(stripe_client, card)
    assert pi.status == "succeeded"
    outcome = stripe_client.v1.charges.retrieve(str(pi.latest_charge)).outcome
    assert outcome is not None
    assert (outcome.network_status, outcome.type, outcome.reason) == (
        "approved_by_network",
        kind,
        reason,
    )
    assert outcome.risk_level == risk_level
    assert outcome.risk_score in scores
    assert outcome.rule is None
    assert outcome.seller_message


def test_an_issuer_decline_is_of_normal_risk(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as raised:
        pay(stripe_client, "4000000000009995")
    charge = stripe_client.v1.charges.retrieve(str(raised.value.error.charge))  # type: ignore[union-attr]
    outcome = charge.outcome
    assert outcome is not None
    assert (outcome.type, outcome.reason, outcome.risk_level) == (
        "issuer_declined",
        "insufficient_funds",
        "normal",
    )
    assert outcome.risk_score is not None
    assert outcome.risk_score < 65


@pytest.mark.parametrize(
    ("payment_method", "rule"),
    [
        ("pm_card_riskLevelHighest", "block_if_high_risk"),
        ("pm_card_radarBlock", None),
        ("pm_card_chargeDeclinedFraudulent", None),
    ],
)
def test_radar_blocks_the_highest_risk_cards(
    stripe_client: stripe.StripeClient, payment_method: str, rule: str | None
) -> None:
    intent = stripe_client.v1.payment_intents.create(
        form({"amount": 2000, "currency": "usd", "payment_method_types": ["card"]})
    )
    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_intents.confirm(intent.id, {"payment_method": payment_method})
    error = raised.value
    assert (error.code, error.error.decline_code) == ("card_declined", "fraudulent")  # type: ignore[union-attr]
    assert error.user_message == "Your card was declined."

    after = stripe_client.v1.payment_intents.retrieve(intent.id)
    assert after.status == "requires_payment_method"
    charge = stripe_client.v1.charges.retrieve(str(after.latest_charge))
    assert (charge.status, charge.paid, charge.failure_code) == ("failed", False, "card_declined")
    assert charge.to_dict()["fraud_details"] == {"stripe_report": "fraudulent"}
    outcome = charge.outcome
    assert outcome is not None
    assert outcome.network_status == "not_sent_to_network"
    assert (outcome.type, outcome.reason, outcome.risk_level) == (
        "blocked",
        "highest_risk_level",
        "highest",
    )
    assert outcome.risk_score is not None
    assert outcome.risk_score >= 75
    assert outcome.rule == rule
    assert outcome.seller_message == "Stripe blocked this payment as too risky."
    assert related_events(stripe_client, {intent.id, charge.id})[-2:] == [
        "charge.failed",
        "payment_intent.payment_failed",
    ]


def test_the_card_numbers_block_as_their_tokens_do(stripe_client: stripe.StripeClient) -> None:
    for number in ("4000000000004954", "4100000000000019"):
        with pytest.raises(stripe.CardError) as raised:
            pay(stripe_client, number)
        assert raised.value.error.decline_code == "fraudulent"  # type: ignore[union-attr]
    elevated = stripe_client.v1.payment_intents.create(
        form(
            {
                "amount": 700,
                "currency": "usd",
                "payment_method_types": ["card"],
                "payment_method": "pm_card_riskLevelElevated",
                "confirm": True,
            }
        )
    )
    assert elevated.status == "succeeded"


# -- early fraud warnings ----------------------------------------------------------------------


def test_the_early_fraud_warning_card_is_reported_right_after_it_succeeds(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = pay(stripe_client, "4000000000005423", amount=3100)
    assert pi.status == "succeeded"
    charge_id = str(pi.latest_charge)
    warnings = stripe_client.v1.radar.early_fraud_warnings.list({"charge": charge_id}).data
    assert len(warnings) == 1
    warning = warnings[0]
    assert warning.id.startswith("issfr_")
    assert (warning.object, warning.charge, warning.payment_intent) == (
        "radar.early_fraud_warning",
        charge_id,
        pi.id,
    )
    assert (warning.actionable, warning.livemode) == (True, False)
    assert warning.fraud_type == "made_with_stolen_card"
    assert set(warning.to_dict()) == WARNING_KEYS
    assert related_events(stripe_client, {pi.id, charge_id, warning.id})[-3:] == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "radar.early_fraud_warning.created",
    ]
    same = stripe_client.v1.radar.early_fraud_warnings.retrieve(warning.id)
    assert same.to_dict() == warning.to_dict()
    assert pi.id in {w.payment_intent for w in stripe_client.v1.radar.early_fraud_warnings.list()}


def test_a_manual_capture_is_reported_once_captured(stripe_client: stripe.StripeClient) -> None:
    pi = stripe_client.v1.payment_intents.create(
        form(
            {
                "amount": 1800,
                "currency": "usd",
                "payment_method_types": ["card"],
                "capture_method": "manual",
                "payment_method": "pm_card_createIssuerFraudRecord",
                "confirm": True,
            }
        )
    )
    assert pi.status == "requires_capture"
    listed = stripe_client.v1.radar.early_fraud_warnings.list({"payment_intent": pi.id})
    assert listed.data == []
    stripe_client.v1.payment_intents.capture(pi.id)
    listed = stripe_client.v1.radar.early_fraud_warnings.list({"payment_intent": pi.id})
    assert [w.charge for w in listed.data] == [pi.latest_charge]


def test_any_captured_charge_can_be_reported_on_demand(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    pi = pay(stripe_client, "4242424242424242", amount=2600)
    charge_id = str(pi.latest_charge)
    answer = warn(http, charge_id, {"fraud_type": "unauthorized_use_of_card"})
    assert answer.status_code == 200, answer.text
    warning = answer.json()
    assert set(warning) == WARNING_KEYS
    assert (warning["charge"], warning["payment_intent"], warning["actionable"]) == (
        charge_id,
        pi.id,
        True,
    )
    assert warning["fraud_type"] == "unauthorized_use_of_card"
    created = stripe_client.v1.events.list(
        {"type": "radar.early_fraud_warning.created", "limit": 5}
    ).data
    assert warning["id"] in {event.data.object["id"] for event in created}

    again = warn(http, charge_id)
    assert again.status_code == 400
    assert again.json()["error"]["param"] == "charge"


def test_a_warning_without_a_fraud_type_says_stolen_card(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    pi = pay(stripe_client, "4242424242424242", amount=900)
    answer = warn(http, str(pi.latest_charge))
    assert answer.json()["fraud_type"] == "made_with_stolen_card"


@pytest.mark.parametrize(
    ("body", "param"),
    [({"fraud_type": "stolen"}, "fraud_type"), ({"reason": "fraudulent"}, "reason")],
)
def test_a_warning_on_demand_is_checked(
    stripe_client: stripe.StripeClient, http: httpx.Client, body: dict[str, Any], param: str
) -> None:
    pi = pay(stripe_client, "4242424242424242", amount=950)
    answer = warn(http, str(pi.latest_charge), body)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param


def test_only_a_charge_that_took_money_can_be_reported(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    assert warn(http, "ch_missing").status_code == 404
    held = stripe_client.v1.payment_intents.create(
        form(
            {
                "amount": 1200,
                "currency": "usd",
                "payment_method_types": ["card"],
                "capture_method": "manual",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
    )
    assert warn(http, str(held.latest_charge)).status_code == 400
    with pytest.raises(stripe.CardError) as raised:
        pay(stripe_client, "4000000000000002")
    assert warn(http, str(raised.value.error.charge)).status_code == 400  # type: ignore[union-attr]


def test_a_full_refund_makes_the_warning_no_longer_actionable(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = pay(stripe_client, "4000000000005423", amount=4000)
    warning = stripe_client.v1.radar.early_fraud_warnings.list({"payment_intent": pi.id}).data[0]
    stripe_client.v1.refunds.create({"payment_intent": pi.id, "amount": 1000})
    assert stripe_client.v1.radar.early_fraud_warnings.retrieve(warning.id).actionable is True
    stripe_client.v1.refunds.create({"payment_intent": pi.id})
    assert stripe_client.v1.radar.early_fraud_warnings.retrieve(warning.id).actionable is False
    updated = stripe_client.v1.events.list(
        {"type": "radar.early_fraud_warning.updated", "limit": 10}
    ).data
    event = next(e for e in updated if e.data.object["id"] == warning.id)
    assert event.data.object["actionable"] is False
    assert event.data.to_dict()["previous_attributes"] == {"actionable": True}
    assert related_events(stripe_client, {pi.id, str(pi.latest_charge), warning.id})[-1] == (
        "radar.early_fraud_warning.updated"
    )


def test_a_dispute_makes_the_warning_no_longer_actionable(
    stripe_client: stripe.StripeClient, sandbox: SandboxServer
) -> None:
    pi = pay(stripe_client, "4000000000005423", amount=4100)
    warning = stripe_client.v1.radar.early_fraud_warnings.list({"payment_intent": pi.id}).data[0]
    sandbox.dispute_charge(str(pi.latest_charge))
    assert stripe_client.v1.radar.early_fraud_warnings.retrieve(warning.id).actionable is False
    assert related_events(stripe_client, {pi.id, str(pi.latest_charge), warning.id})[-1] == (
        "radar.early_fraud_warning.updated"
    )


def test_warnings_list_like_stripes_other_lists(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    pis = [pay(stripe_client, "4000000000005423", amount=500 + n) for n in range(3)]
    newest = stripe_client.v1.radar.early_fraud_warnings.list({"limit": 2})
    assert newest.has_more is True
    assert [w.payment_intent for w in newest.data] == [pis[2].id, pis[1].id]
    older = stripe_client.v1.radar.early_fraud_warnings.list(
        {"limit": 1, "starting_after": newest.data[1].id}
    )
    assert [w.payment_intent for w in older.data] == [pis[0].id]
    created = newest.data[0].created
    recent = stripe_client.v1.radar.early_fraud_warnings.list(
        {"created": {"gte": created}, "limit": 100}
    )
    assert newest.data[0].id in {w.id for w in recent.data}
    assert stripe_client.v1.radar.early_fraud_warnings.list({"created": {"gt": created}}).data == []
    answer = http.get(
        "/v1/radar/early_fraud_warnings", params={"colour": "red"}, headers=secret_auth()
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "colour"


def test_a_warning_expands_its_charge(stripe_client: stripe.StripeClient) -> None:
    pi = pay(stripe_client, "4000000000005423", amount=4300)
    warning = stripe_client.v1.radar.early_fraud_warnings.list({"payment_intent": pi.id}).data[0]
    expanded = stripe_client.v1.radar.early_fraud_warnings.retrieve(
        warning.id, {"expand": ["charge"]}
    )
    assert isinstance(expanded.charge, stripe.Charge)
    assert expanded.charge.id == pi.latest_charge


def test_a_missing_warning_is_stripes_404(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.radar.early_fraud_warnings.retrieve("issfr_missing")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"


def test_the_sdks_older_radar_namespace_reaches_it_too(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = pay(stripe_client, "4000000000005423", amount=4400)
    with pytest.warns(DeprecationWarning, match="StripeClient.v1.radar"):
        service = stripe_client.radar.early_fraud_warnings
    listed = service.list({"payment_intent": pi.id})
    assert [w.payment_intent for w in listed.data] == [pi.id]
