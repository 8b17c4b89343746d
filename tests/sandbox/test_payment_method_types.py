"""Which payment method types a PaymentIntent takes: automatic ones by currency, an explicit
list checked, and what a confirmation must bring (an allowed type, a return_url)."""

from typing import Any

import pytest
import stripe

from tests.sandbox.conftest import form

CARD_OPTIONS = {
    "installments": None,
    "mandate_options": None,
    "network": None,
    "request_three_d_secure": "automatic",
}
SEPA_DETAILS: Any = {
    "type": "sepa_debit",
    "sepa_debit": {"iban": "DE89370400440532013000"},
    "billing_details": {"name": "Jenny Rosen", "email": "jenny@example.com"},
}
ONLINE: Any = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0"},
    }
}


def create(client: stripe.StripeClient, **params: Any) -> stripe.PaymentIntent:
    body: Any = {"amount": 2000, "currency": "eur", **params}
    return client.v1.payment_intents.create(body)


def test_automatic_methods_in_eur_are_the_four_the_account_enables(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = create(stripe_client, automatic_payment_methods={"enabled": True})

    assert pi.payment_method_types == ["card", "sepa_debit", "ideal", "bancontact"]
    assert pi.automatic_payment_methods is not None
    assert pi.automatic_payment_methods.to_dict() == {"allow_redirects": "always", "enabled": True}
    assert pi.payment_method_options is not None
    assert pi.payment_method_options.to_dict() == {
        "card": CARD_OPTIONS,
        "sepa_debit": {},
        "ideal": {},
        "bancontact": {"preferred_language": "en"},
    }


def test_automatic_methods_are_the_default_without_a_list(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = create(stripe_client)
    assert pi.payment_method_types == ["card", "sepa_debit", "ideal", "bancontact"]
    assert pi.automatic_payment_methods is not None


def test_automatic_methods_in_another_currency_are_card_alone(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = create(stripe_client, currency="usd", automatic_payment_methods={"enabled": True})

    assert pi.payment_method_types == ["card"]
    assert pi.payment_method_options is not None
    assert pi.payment_method_options.to_dict() == {"card": CARD_OPTIONS}


def test_no_redirects_leaves_out_ideal_and_bancontact(stripe_client: stripe.StripeClient) -> None:
    pi = create(
        stripe_client, automatic_payment_methods={"enabled": True, "allow_redirects": "never"}
    )

    assert pi.payment_method_types == ["card", "sepa_debit"]
    assert pi.automatic_payment_methods is not None
    assert pi.automatic_payment_methods.allow_redirects == "never"
    ideal = stripe_client.v1.payment_methods.create({"type": "ideal"})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_intents.confirm(
            pi.id, form({"payment_method": ideal.id, "return_url": "https://shop.example/back"})
        )
    assert refused.value.code == "payment_intent_incompatible_payment_method"


def test_manual_capture_leaves_automatic_methods_to_cards(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = create(stripe_client, capture_method="manual", automatic_payment_methods={"enabled": True})
    assert pi.payment_method_types == ["card"]


def test_an_explicit_list_is_kept(stripe_client: stripe.StripeClient) -> None:
    pi = create(stripe_client, payment_method_types=["sepa_debit", "card"])

    assert pi.payment_method_types == ["sepa_debit", "card"]
    assert pi.automatic_payment_methods is None
    assert pi.payment_method_options is not None
    assert set(pi.payment_method_options.to_dict()) == {"sepa_debit", "card"}


def test_an_unknown_type_is_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        create(stripe_client, payment_method_types=["card", "klarna"])

    assert refused.value.param == "payment_method_types"
    assert refused.value.user_message is not None
    assert refused.value.user_message.startswith(
        "The payment method type provided: klarna is invalid."
    )


@pytest.mark.parametrize("kind", ["sepa_debit", "ideal", "bancontact"])
def test_a_euro_only_type_is_refused_in_another_currency(
    stripe_client: stripe.StripeClient, kind: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        create(stripe_client, currency="usd", payment_method_types=[kind])

    assert refused.value.param == "payment_method_types"
    assert refused.value.user_message == (
        f"The currency provided (usd) is invalid. Payments with {kind} support the following "
        "currencies: eur."
    )


def test_an_update_to_another_currency_is_checked_and_reoffers(
    stripe_client: stripe.StripeClient,
) -> None:
    listed = create(stripe_client, payment_method_types=["sepa_debit"])
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_intents.update(listed.id, form({"currency": "usd"}))
    assert refused.value.param == "payment_method_types"

    automatic = create(stripe_client, automatic_payment_methods={"enabled": True})
    moved = stripe_client.v1.payment_intents.update(automatic.id, form({"currency": "usd"}))
    assert moved.payment_method_types == ["card"]
    narrowed = stripe_client.v1.payment_intents.update(
        listed.id, form({"payment_method_types": ["card"]})
    )
    assert narrowed.payment_method_types == ["card"]


def test_both_automatic_methods_and_a_list_are_refused(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        create(
            stripe_client,
            automatic_payment_methods={"enabled": True},
            payment_method_types=["card"],
        )
    assert refused.value.param == "automatic_payment_methods"


def test_a_method_of_a_type_not_taken_is_refused(stripe_client: stripe.StripeClient) -> None:
    pi = create(stripe_client, payment_method_types=["card"])

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_intents.confirm(
            pi.id, form({"payment_method_data": SEPA_DETAILS, "mandate_data": ONLINE})
        )

    error = refused.value
    assert (error.code, error.param) == (
        "payment_intent_incompatible_payment_method",
        "payment_method",
    )
    assert error.user_message == (
        "The PaymentMethod provided (sepa_debit) is not allowed for this PaymentIntent. Please "
        "attach a PaymentMethod of one of the following types: card. Alternatively, update the "
        'allowed payment_method_types for this PaymentIntent to include "sepa_debit"'
    )
    assert stripe_client.v1.payment_intents.retrieve(pi.id).status == "requires_payment_method"


# -- return_url ------------------------------------------------------------------------------


@pytest.mark.parametrize("payment_method", ["pm_card_visa", "pm_success_de"])
def test_automatic_methods_that_allow_redirects_need_a_return_url(
    stripe_client: stripe.StripeClient, payment_method: str
) -> None:
    pi = create(stripe_client, automatic_payment_methods={"enabled": True})

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_intents.confirm(
            pi.id, form({"payment_method": payment_method, "mandate_data": ONLINE})
        )

    assert refused.value.param == "return_url"
    assert refused.value.user_message is not None
    assert refused.value.user_message.startswith(
        "A `return_url` must be specified because this Payment Intent is configured to "
        "automatically accept the payment methods enabled in the Dashboard"
    )
    with_url = stripe_client.v1.payment_intents.confirm(
        pi.id,
        form(
            {
                "payment_method": payment_method,
                "mandate_data": ONLINE,
                "return_url": "https://shop.example/back",
            }
        ),
    )
    assert with_url.status in ("succeeded", "processing")


def test_a_card_pays_without_return_url_when_redirects_are_not_allowed(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = create(
        stripe_client,
        payment_method="pm_card_visa",
        confirm=True,
        automatic_payment_methods={"enabled": True, "allow_redirects": "never"},
    )
    assert pi.status == "succeeded"


def test_a_card_pays_without_return_url_on_a_card_list(stripe_client: stripe.StripeClient) -> None:
    pi = create(
        stripe_client, payment_method="pm_card_visa", confirm=True, payment_method_types=["card"]
    )
    assert pi.status == "succeeded"


def test_a_card_without_return_url_on_the_default_methods_goes_through(
    stripe_client: stripe.StripeClient,
) -> None:
    """The sandbox's one leniency (confirmations.py): Stripe would want a return_url."""
    pi = create(stripe_client, payment_method="pm_card_visa", confirm=True)
    assert pi.status == "succeeded"
    sepa = create(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.payment_intents.confirm(
            sepa.id, form({"payment_method": "pm_success_de", "mandate_data": ONLINE})
        )
    assert refused.value.param == "return_url"


def test_mandate_data_with_a_card_is_accepted_and_ignored(
    stripe_client: stripe.StripeClient,
) -> None:
    pi = create(
        stripe_client,
        payment_method="pm_card_visa",
        confirm=True,
        payment_method_types=["card"],
        mandate_data=ONLINE,
    )
    assert pi.status == "succeeded"


# -- expansion -------------------------------------------------------------------------------


def test_create_confirm_and_retrieve_expand_the_charge_and_the_method(
    stripe_client: stripe.StripeClient,
) -> None:
    expand = ["latest_charge", "payment_method"]
    created = create(
        stripe_client, payment_method_types=["card", "sepa_debit"], expand=["latest_charge"]
    )
    assert created.latest_charge is None

    confirmed = stripe_client.v1.payment_intents.confirm(
        created.id, form({"payment_method": "pm_card_visa", "expand": expand})
    )
    retrieved = stripe_client.v1.payment_intents.retrieve(created.id, {"expand": expand})

    for pi in (confirmed, retrieved):
        charge = pi.latest_charge
        assert isinstance(charge, stripe.Charge)
        assert charge.payment_method_details is not None
        card = charge.payment_method_details.card
        assert card is not None
        assert (card.brand, card.last4) == ("visa", "4242")
        assert isinstance(pi.payment_method, stripe.PaymentMethod)
        assert pi.payment_method.type == "card"
    stored = stripe_client.v1.payment_intents.retrieve(created.id)
    assert isinstance(stored.latest_charge, str)

    sepa = create(
        stripe_client,
        payment_method_types=["sepa_debit"],
        payment_method="pm_success_at",
        confirm=True,
        mandate_data=ONLINE,
        expand=expand,
    )
    charge = sepa.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert charge.payment_method_details is not None
    details = charge.payment_method_details.sepa_debit
    assert details is not None
    assert (details.country, details.last4) == ("AT", "3201")
    assert str(details.mandate).startswith("mandate_")
    assert isinstance(sepa.payment_method, stripe.PaymentMethod)
    assert sepa.payment_method.type == "sepa_debit"
