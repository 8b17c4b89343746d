"""PaymentIntent scenarios, written once and run on paydesk's sandbox and on localstripe.

Both are fakes of Stripe; where both implement a call they must agree with each other and
with Stripe's documented behaviour. A case localstripe does not implement, or implements
differently from Stripe, is skipped on localstripe only, with the reason.
"""

from __future__ import annotations

import uuid

import pytest
import stripe
from tests.contract.backends import (
    CORE_CHARGE_KEYS,
    CORE_PAYMENT_INTENT_KEYS,
    Backend,
    charge_id,
    keys,
)

VISA = "pm_card_visa"
# Stripe's "decline after attaching" card: the charge fails with card_declined.
DECLINE_AFTER_ATTACH = "pm_card_chargeCustomerFail"
DECLINED = "pm_card_chargeDeclined"
INSUFFICIENT_FUNDS = "pm_card_chargeDeclinedInsufficientFunds"
GENERIC_DECLINE_NUMBER = "4000000000000002"
THREE_D_SECURE_2_NUMBER = "4000000000003220"


# --- create / retrieve / update ------------------------------------------------------------


def test_create_keeps_amount_currency_metadata(backend: Backend) -> None:
    pi = backend.payment_intent(amount=1234, metadata={"order_id": "A-1"})

    assert pi.id.startswith("pi_")
    assert pi.object == "payment_intent"
    assert pi.amount == 1234
    assert pi.currency == "eur"
    assert pi.metadata.to_dict() == {"order_id": "A-1"}
    assert pi.status == "requires_payment_method"
    assert pi.livemode is False
    assert pi.client_secret.startswith(f"{pi.id}_secret_")


def test_create_returns_the_core_keys(backend: Backend) -> None:
    pi = backend.payment_intent(VISA)

    assert keys(pi) >= CORE_PAYMENT_INTENT_KEYS, CORE_PAYMENT_INTENT_KEYS - keys(pi)
    assert pi.status == "requires_confirmation"
    assert pi.payment_method is not None
    assert pi.latest_charge is None
    assert pi.last_payment_error is None
    assert pi.next_action is None


def test_default_capture_method_is_automatic_async(backend: Backend) -> None:

    pi = backend.payment_intent()

    assert pi.capture_method == "automatic_async"


def test_automatic_payment_methods_enabled_by_default(backend: Backend) -> None:
    backend.skip_localstripe("return automatic_payment_methods on a PaymentIntent")

    pi = backend.client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur"})

    assert pi.automatic_payment_methods is not None
    assert pi.automatic_payment_methods.enabled is True


def test_retrieve_returns_the_created_intent(backend: Backend) -> None:
    created = backend.payment_intent(amount=2000, metadata={"order_id": "B-2"})

    got = backend.client.v1.payment_intents.retrieve(created.id)

    assert got.id == created.id
    assert got.amount == 2000
    assert got.currency == "eur"
    assert got.metadata.to_dict() == {"order_id": "B-2"}
    assert got.status == created.status
    assert got.client_secret == created.client_secret


def test_retrieve_unknown_intent_is_not_found(backend: Backend) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.retrieve("pi_doesnotexist000000")

    assert exc.value.http_status == 404
    assert exc.value.error is not None
    assert exc.value.error.type == "invalid_request_error"


def test_update_amount(backend: Backend) -> None:
    backend.skip_localstripe(
        "convert an updated amount to an integer (it stores the form string, e.g. '1500')"
    )
    pi = backend.payment_intent(VISA, amount=1000)

    updated = backend.client.v1.payment_intents.update(pi.id, params={"amount": 1500})

    assert updated.amount == 1500
    assert backend.client.v1.payment_intents.retrieve(pi.id).amount == 1500


def test_updated_amount_is_what_gets_charged(backend: Backend) -> None:
    pi = backend.payment_intent(VISA, amount=1000)
    backend.client.v1.payment_intents.update(pi.id, params={"amount": 1500})

    confirmed = backend.client.v1.payment_intents.confirm(pi.id)

    assert confirmed.status == "succeeded"
    charge = backend.client.v1.charges.retrieve(charge_id(confirmed.latest_charge))
    assert charge.amount == 1500


def test_update_merges_metadata(backend: Backend) -> None:
    pi = backend.payment_intent(metadata={"order_id": "C-3"})

    updated = backend.client.v1.payment_intents.update(pi.id, params={"metadata": {"note": "gift"}})

    assert updated.metadata.to_dict() == {"order_id": "C-3", "note": "gift"}


# --- confirm -------------------------------------------------------------------------------


def test_confirm_with_succeeding_card_succeeds_with_a_charge(backend: Backend) -> None:
    pi = backend.payment_intent(VISA, amount=4200, metadata={"order_id": "D-4"})

    confirmed = backend.client.v1.payment_intents.confirm(pi.id)

    assert confirmed.status == "succeeded"
    assert confirmed.last_payment_error is None
    assert confirmed.latest_charge is not None
    charge = backend.client.v1.charges.retrieve(charge_id(confirmed.latest_charge))
    assert keys(charge) >= CORE_CHARGE_KEYS, CORE_CHARGE_KEYS - keys(charge)
    assert charge.id.startswith("ch_")
    assert charge.amount == 4200
    assert charge.currency == "eur"
    assert charge.status == "succeeded"
    assert charge.paid is True
    assert charge.captured is True
    assert charge.amount_refunded == 0
    assert charge.payment_intent == pi.id
    assert charge.failure_code is None
    got = backend.client.v1.payment_intents.retrieve(pi.id)
    assert got.status == "succeeded"
    assert charge_id(got.latest_charge) == charge.id


def test_create_with_confirm_true_succeeds(backend: Backend) -> None:
    pi = backend.payment_intent(VISA, confirm=True)

    assert pi.status == "succeeded"
    assert pi.latest_charge is not None


def test_confirm_twice_is_an_invalid_request(backend: Backend) -> None:
    pi = backend.payment_intent(VISA)
    backend.client.v1.payment_intents.confirm(pi.id)

    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.confirm(pi.id)

    assert exc.value.http_status == 400
    assert exc.value.error is not None
    assert exc.value.error.type == "invalid_request_error"


def test_confirm_without_payment_method_is_an_invalid_request(backend: Backend) -> None:
    pi = backend.payment_intent()

    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.confirm(pi.id)

    assert exc.value.http_status == 400
    assert exc.value.error is not None
    assert exc.value.error.type == "invalid_request_error"


def test_confirm_with_payment_method_param(backend: Backend) -> None:
    backend.skip_localstripe("accept payment_method on confirm (it answers 500 Not implemented)")
    pi = backend.payment_intent()

    confirmed = backend.client.v1.payment_intents.confirm(pi.id, params={"payment_method": VISA})

    assert confirmed.status == "succeeded"


# --- declines ------------------------------------------------------------------------------


def test_declining_card_leaves_intent_requiring_payment_method(backend: Backend) -> None:
    pi = backend.payment_intent(backend.declining_card)

    with pytest.raises(stripe.CardError) as exc:
        backend.client.v1.payment_intents.confirm(pi.id)

    assert exc.value.http_status == 402
    assert exc.value.code == "card_declined"
    got = backend.client.v1.payment_intents.retrieve(pi.id)
    assert got.status == "requires_payment_method"
    assert got.last_payment_error is not None
    assert got.last_payment_error.code == "card_declined"
    assert got.latest_charge is not None
    charge = backend.client.v1.charges.retrieve(charge_id(got.latest_charge))
    assert charge.id == got.last_payment_error.charge
    assert charge.status == "failed"
    assert charge.paid is False
    assert charge.failure_code == "card_declined"
    assert charge.payment_intent == pi.id


def test_decline_after_attach_card(backend: Backend) -> None:
    pi = backend.payment_intent(DECLINE_AFTER_ATTACH)

    with pytest.raises(stripe.CardError) as exc:
        backend.client.v1.payment_intents.confirm(pi.id)

    assert exc.value.http_status == 402
    assert exc.value.code == "card_declined"
    got = backend.client.v1.payment_intents.retrieve(pi.id)
    assert got.status == "requires_payment_method"
    assert got.last_payment_error is not None
    assert got.last_payment_error.code == "card_declined"


@pytest.mark.parametrize(
    ("payment_method", "decline_code"),
    [(DECLINED, "generic_decline"), (INSUFFICIENT_FUNDS, "insufficient_funds")],
)
def test_declining_test_payment_method(
    backend: Backend, payment_method: str, decline_code: str
) -> None:
    backend.skip_localstripe(
        f"know the {payment_method} test PaymentMethod (it knows pm_card_visa, "
        "pm_card_visa_chargeDeclined and pm_card_chargeCustomerFail only)"
    )
    pi = backend.payment_intent(payment_method)

    with pytest.raises(stripe.CardError) as exc:
        backend.client.v1.payment_intents.confirm(pi.id)

    assert exc.value.http_status == 402
    assert exc.value.code == "card_declined"
    assert exc.value.error is not None
    assert exc.value.error.type == "card_error"
    assert exc.value.error.decline_code == decline_code
    got = backend.client.v1.payment_intents.retrieve(pi.id)
    assert got.status == "requires_payment_method"
    assert got.last_payment_error is not None
    assert got.last_payment_error.type == "card_error"
    assert got.last_payment_error.code == "card_declined"
    assert got.last_payment_error.decline_code == decline_code
    charge = backend.client.v1.charges.retrieve(charge_id(got.latest_charge))
    assert charge.status == "failed"
    assert charge.captured is False
    assert charge.outcome is not None
    assert charge.outcome.reason == decline_code


def test_declining_card_number(backend: Backend) -> None:
    backend.skip_localstripe(
        f"decline card {GENERIC_DECLINE_NUMBER} on a charge (it declines it only when "
        "attaching it to a customer)"
    )
    pi = backend.payment_intent(backend.card(GENERIC_DECLINE_NUMBER))

    with pytest.raises(stripe.CardError) as exc:
        backend.client.v1.payment_intents.confirm(pi.id)

    assert exc.value.http_status == 402
    assert exc.value.code == "card_declined"
    assert exc.value.error is not None
    assert exc.value.error.decline_code == "generic_decline"
    assert backend.client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"


def test_card_number_payment_method(backend: Backend) -> None:
    pm = backend.client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )

    assert pm.id.startswith("pm_")
    assert pm.type == "card"
    assert pm.card is not None
    assert pm.card.last4 == "4242"
    assert pm.card.exp_month == 12
    assert pm.card.exp_year == 2030
    confirmed = backend.client.v1.payment_intents.confirm(backend.payment_intent(pm.id).id)
    assert confirmed.status == "succeeded"


# --- 3-D Secure ----------------------------------------------------------------------------


def test_three_d_secure_card_requires_action(backend: Backend) -> None:
    pi = backend.payment_intent(backend.card(THREE_D_SECURE_2_NUMBER))

    confirmed = backend.client.v1.payment_intents.confirm(pi.id)

    assert confirmed.status == "requires_action"
    assert confirmed.next_action is not None
    assert confirmed.latest_charge is None
    got = backend.client.v1.payment_intents.retrieve(pi.id)
    assert got.status == "requires_action"


def test_three_d_secure_without_return_url_uses_stripe_sdk(backend: Backend) -> None:
    pi = backend.payment_intent(backend.card(THREE_D_SECURE_2_NUMBER))

    confirmed = backend.client.v1.payment_intents.confirm(pi.id)

    assert confirmed.next_action is not None
    assert confirmed.next_action.type == "use_stripe_sdk"


def test_three_d_secure_with_return_url_redirects(backend: Backend) -> None:
    backend.skip_localstripe("accept return_url on confirm (it answers 400 to any parameter)")
    pi = backend.payment_intent(backend.card(THREE_D_SECURE_2_NUMBER))

    confirmed = backend.client.v1.payment_intents.confirm(
        pi.id, params={"return_url": "https://shop.example/return"}
    )

    assert confirmed.status == "requires_action"
    assert confirmed.next_action is not None
    assert confirmed.next_action.type == "redirect_to_url"
    assert confirmed.next_action.redirect_to_url is not None
    assert confirmed.next_action.redirect_to_url.return_url == "https://shop.example/return"
    assert confirmed.next_action.redirect_to_url.url


def test_intent_requiring_action_can_be_canceled(backend: Backend) -> None:
    pi = backend.payment_intent(backend.card(THREE_D_SECURE_2_NUMBER))
    backend.client.v1.payment_intents.confirm(pi.id)

    canceled = backend.client.v1.payment_intents.cancel(pi.id)

    assert canceled.status == "canceled"
    assert canceled.next_action is None


# --- manual capture ------------------------------------------------------------------------


def test_manual_capture_full(backend: Backend) -> None:
    pi = backend.payment_intent(VISA, amount=1000, capture_method="manual")
    assert pi.capture_method == "manual"

    authorized = backend.client.v1.payment_intents.confirm(pi.id)
    assert authorized.status == "requires_capture"
    charge = backend.client.v1.charges.retrieve(charge_id(authorized.latest_charge))
    assert charge.captured is False
    assert charge.status == "succeeded"

    captured = backend.client.v1.payment_intents.capture(pi.id)

    assert captured.status == "succeeded"
    charge = backend.client.v1.charges.retrieve(charge_id(captured.latest_charge))
    assert charge.captured is True
    assert charge.amount == 1000
    assert charge.amount_refunded == 0


def test_manual_capture_partial(backend: Backend) -> None:
    pi = backend.payment_intent(VISA, amount=1000, capture_method="manual")
    backend.client.v1.payment_intents.confirm(pi.id)

    captured = backend.client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 600})

    assert captured.status == "succeeded"
    charge = backend.client.v1.charges.retrieve(charge_id(captured.latest_charge))
    assert charge.captured is True
    assert charge.amount == 1000
    assert charge.amount_refunded == 400


def test_manual_capture_amounts(backend: Backend) -> None:
    backend.skip_localstripe("return amount_capturable / amount_received on a PaymentIntent")
    pi = backend.payment_intent(VISA, amount=1000, capture_method="manual")

    authorized = backend.client.v1.payment_intents.confirm(pi.id)
    assert authorized.amount_capturable == 1000
    assert authorized.amount_received == 0

    captured = backend.client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 600})
    assert captured.amount_capturable == 0
    assert captured.amount_received == 600
    charge = backend.client.v1.charges.retrieve(charge_id(captured.latest_charge))
    assert charge.amount_captured == 600


def test_capture_more_than_authorized_is_an_invalid_request(backend: Backend) -> None:
    pi = backend.payment_intent(VISA, amount=1000, capture_method="manual")
    backend.client.v1.payment_intents.confirm(pi.id)

    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 1001})

    assert exc.value.http_status == 400
    assert backend.client.v1.payment_intents.retrieve(pi.id).status == "requires_capture"


def test_capture_of_succeeded_intent_is_an_invalid_request(backend: Backend) -> None:
    pi = backend.payment_intent(VISA, confirm=True)

    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.capture(pi.id)

    assert exc.value.http_status == 400
    assert exc.value.error is not None
    assert exc.value.error.type == "invalid_request_error"


def test_capture_of_unconfirmed_intent_is_unexpected_state(backend: Backend) -> None:
    backend.skip_localstripe(
        "answer 400 when capturing an intent without a charge (it fails with a 500)"
    )
    pi = backend.payment_intent(VISA)

    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.capture(pi.id)

    assert exc.value.http_status == 400
    assert exc.value.code == "payment_intent_unexpected_state"


def test_capture_of_succeeded_intent_is_unexpected_state(backend: Backend) -> None:
    backend.skip_localstripe("send an error code with its 400 errors")
    pi = backend.payment_intent(VISA, confirm=True)

    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.capture(pi.id)

    assert exc.value.code == "payment_intent_unexpected_state"


# --- cancel --------------------------------------------------------------------------------


def test_cancel(backend: Backend) -> None:
    pi = backend.payment_intent(VISA)

    canceled = backend.client.v1.payment_intents.cancel(pi.id)

    assert canceled.status == "canceled"
    assert canceled.to_dict().get("cancellation_reason") is None
    assert backend.client.v1.payment_intents.retrieve(pi.id).status == "canceled"


def test_cancel_authorized_intent(backend: Backend) -> None:
    pi = backend.payment_intent(VISA, capture_method="manual")
    backend.client.v1.payment_intents.confirm(pi.id)

    canceled = backend.client.v1.payment_intents.cancel(pi.id)

    assert canceled.status == "canceled"


def test_cancel_with_reason(backend: Backend) -> None:
    backend.skip_localstripe("accept cancellation_reason (its cancel answers 400 to any parameter)")
    pi = backend.payment_intent(VISA)

    canceled = backend.client.v1.payment_intents.cancel(
        pi.id, params={"cancellation_reason": "requested_by_customer"}
    )

    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "requested_by_customer"
    got = backend.client.v1.payment_intents.retrieve(pi.id)
    assert got.cancellation_reason == "requested_by_customer"
    assert got.canceled_at is not None


def test_cancel_after_success_is_an_invalid_request(backend: Backend) -> None:
    pi = backend.payment_intent(VISA, confirm=True)

    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.cancel(pi.id)

    assert exc.value.http_status == 400
    assert exc.value.error is not None
    assert exc.value.error.type == "invalid_request_error"
    assert backend.client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_cancel_after_success_is_unexpected_state(backend: Backend) -> None:
    backend.skip_localstripe("send an error code with its 400 errors")
    pi = backend.payment_intent(VISA, confirm=True)

    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.cancel(pi.id)

    assert exc.value.code == "payment_intent_unexpected_state"


def test_cancel_twice_is_an_invalid_request(backend: Backend) -> None:
    pi = backend.payment_intent(VISA)
    backend.client.v1.payment_intents.cancel(pi.id)

    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.cancel(pi.id)

    assert exc.value.http_status == 400


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["amount", "currency"])
def test_missing_required_parameter_is_an_invalid_request(backend: Backend, missing: str) -> None:
    params = {"amount": 1000, "currency": "eur"}
    del params[missing]

    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.create(params=params)  # type: ignore[arg-type]

    assert exc.value.http_status == 400
    assert exc.value.error is not None
    assert exc.value.error.type == "invalid_request_error"


@pytest.mark.parametrize("missing", ["amount", "currency"])
def test_missing_required_parameter_names_the_param(backend: Backend, missing: str) -> None:
    backend.skip_localstripe("name the offending param in its errors")
    params = {"amount": 1000, "currency": "eur"}
    del params[missing]

    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.payment_intents.create(params=params)  # type: ignore[arg-type]

    assert exc.value.param == missing
    assert exc.value.code == "parameter_missing"


def test_non_positive_amount_is_an_invalid_request(backend: Backend) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.payment_intent(amount=0)

    assert exc.value.http_status == 400
    assert exc.value.error is not None
    assert exc.value.error.type == "invalid_request_error"


# --- idempotency ---------------------------------------------------------------------------


def test_same_idempotency_key_same_params_replays(backend: Backend) -> None:
    backend.skip_localstripe("honour the Idempotency-Key header (it creates a new object)")
    key = f"contract-{uuid.uuid4()}"
    params = {"amount": 1000, "currency": "eur", "payment_method_types": ["card"]}

    first = backend.client.v1.payment_intents.create(
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": key},
    )
    again = backend.client.v1.payment_intents.create(
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": key},
    )

    assert again.id == first.id
    assert again.amount == first.amount
    assert again.last_response is not None
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"


def test_same_idempotency_key_other_params_is_an_idempotency_error(backend: Backend) -> None:
    backend.skip_localstripe("honour the Idempotency-Key header (it creates a new object)")
    key = f"contract-{uuid.uuid4()}"
    backend.client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "eur", "payment_method_types": ["card"]},
        options={"idempotency_key": key},
    )

    with pytest.raises(stripe.IdempotencyError) as exc:
        backend.client.v1.payment_intents.create(
            params={"amount": 2000, "currency": "eur", "payment_method_types": ["card"]},
            options={"idempotency_key": key},
        )

    assert exc.value.http_status == 400
    assert exc.value.error is not None
    assert exc.value.error.type == "idempotency_error"


def test_distinct_idempotency_keys_create_distinct_objects(backend: Backend) -> None:
    params = {"amount": 1000, "currency": "eur", "payment_method_types": ["card"]}

    first = backend.client.v1.payment_intents.create(
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": f"contract-{uuid.uuid4()}"},
    )
    second = backend.client.v1.payment_intents.create(
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": f"contract-{uuid.uuid4()}"},
    )

    assert first.id != second.id


# --- list ----------------------------------------------------------------------------------


def _all_payment_intent_ids(backend: Backend, limit: int) -> list[str]:
    ids: list[str] = []
    params: dict[str, object] = {"limit": limit}
    for _ in range(1000):
        page = backend.client.v1.payment_intents.list(params=params)  # type: ignore[arg-type]
        assert page.object == "list"
        assert len(page.data) <= limit
        ids.extend(pi.id for pi in page.data)
        if not page.has_more:
            return ids
        assert len(page.data) == limit
        params = {"limit": limit, "starting_after": page.data[-1].id}
    pytest.fail("the list never ended")


def test_list_pages_with_limit_and_starting_after(backend: Backend) -> None:
    created = [backend.payment_intent(amount=100 + i).id for i in range(3)]

    ids = _all_payment_intent_ids(backend, limit=2)

    assert len(ids) == len(set(ids)), "a page repeated an intent"
    assert set(created) <= set(ids)


def test_list_limit(backend: Backend) -> None:
    for i in range(3):
        backend.payment_intent(amount=200 + i)

    page = backend.client.v1.payment_intents.list(params={"limit": 2})

    assert len(page.data) == 2
    assert page.has_more is True
    assert all(pi.object == "payment_intent" for pi in page.data)


def test_list_is_newest_first(backend: Backend) -> None:
    backend.skip_localstripe("list newest first (it lists in creation order, oldest first)")
    created = [backend.payment_intent(amount=300 + i).id for i in range(3)]

    page = backend.client.v1.payment_intents.list(params={"limit": 3})
    assert [pi.id for pi in page.data] == created[::-1]

    after = backend.client.v1.payment_intents.list(
        params={"limit": 1, "starting_after": created[2]}
    )
    assert [pi.id for pi in after.data] == [created[1]]


# --- events --------------------------------------------------------------------------------


def _events_about(backend: Backend, event_type: str, object_id: str) -> list[stripe.Event]:
    found: list[stripe.Event] = []
    params: dict[str, object] = {"type": event_type, "limit": 100}
    for _ in range(100):
        page = backend.client.v1.events.list(params=params)  # type: ignore[arg-type]
        found.extend(ev for ev in page.data if ev.data.object["id"] == object_id)
        if not page.has_more:
            return found
        params = {**params, "starting_after": page.data[-1].id}
    pytest.fail("the event list never ended")


def test_succeeded_intent_has_a_succeeded_event(backend: Backend) -> None:
    pi = backend.payment_intent(VISA, confirm=True)

    events = _events_about(backend, "payment_intent.succeeded", pi.id)

    assert len(events) == 1
    event = events[0]
    assert event.id.startswith("evt_")
    assert event.object == "event"
    assert event.type == "payment_intent.succeeded"
    assert event.data.object["status"] == "succeeded"
    assert event.data.object["amount"] == 1000
    got = backend.client.v1.events.retrieve(event.id)
    assert got.id == event.id
    assert got.type == "payment_intent.succeeded"
    assert got.data.object["id"] == pi.id


def test_declined_intent_has_a_payment_failed_event(backend: Backend) -> None:
    pi = backend.payment_intent(backend.declining_card)
    with pytest.raises(stripe.CardError):
        backend.client.v1.payment_intents.confirm(pi.id)

    events = _events_about(backend, "payment_intent.payment_failed", pi.id)

    assert len(events) == 1
    assert events[0].data.object["status"] == "requires_payment_method"


def test_created_intent_has_a_created_event(backend: Backend) -> None:
    backend.skip_localstripe(
        "emit payment_intent.created (only payment_intent.succeeded and payment_failed)"
    )
    pi = backend.payment_intent(VISA)

    events = _events_about(backend, "payment_intent.created", pi.id)

    assert len(events) == 1


def test_canceled_intent_has_a_canceled_event(backend: Backend) -> None:
    backend.skip_localstripe("emit payment_intent.canceled")
    pi = backend.payment_intent(VISA)
    backend.client.v1.payment_intents.cancel(pi.id)

    events = _events_about(backend, "payment_intent.canceled", pi.id)

    assert len(events) == 1
    assert events[0].data.object["status"] == "canceled"


def test_unknown_event_is_not_found(backend: Backend) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        backend.client.v1.events.retrieve("evt_doesnotexist000000")

    assert exc.value.http_status == 404


# --- both backends side by side ------------------------------------------------------------


def _payment_summary(backend: Backend) -> tuple[dict[str, object], set[str], set[str]]:
    """Run one payment; return what must match, and the keys of the intent and its charge."""
    pi = backend.payment_intent(VISA, amount=777, metadata={"order_id": "Z-9"})
    confirmed = backend.client.v1.payment_intents.confirm(pi.id)
    charge = backend.client.v1.charges.retrieve(charge_id(confirmed.latest_charge))
    summary: dict[str, object] = {
        "created_status": pi.status,
        "status": confirmed.status,
        "object": confirmed.object,
        "amount": confirmed.amount,
        "currency": confirmed.currency,
        "metadata": confirmed.metadata.to_dict(),
        "livemode": confirmed.livemode,
        "last_payment_error": confirmed.last_payment_error,
        "next_action": confirmed.next_action,
        "charge": {
            key: charge[key]
            for key in ("object", "amount", "amount_refunded", "currency", "status", "paid")
        },
        "charge_captured": charge.captured,
        "charge_failure_code": charge.failure_code,
    }
    return summary, keys(confirmed), keys(charge)


def test_backends_agree_on_a_payment(
    sandbox_backend: Backend, localstripe_backend: Backend
) -> None:
    sandbox, sandbox_pi_keys, sandbox_charge_keys = _payment_summary(sandbox_backend)
    local, local_pi_keys, local_charge_keys = _payment_summary(localstripe_backend)

    assert sandbox == local
    assert sandbox_pi_keys & local_pi_keys >= CORE_PAYMENT_INTENT_KEYS
    assert sandbox_charge_keys & local_charge_keys >= CORE_CHARGE_KEYS
