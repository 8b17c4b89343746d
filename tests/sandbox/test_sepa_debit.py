"""SEPA Direct Debit through the official SDK: IBANs checked and never kept, a mandate, a
pending charge and a processing PaymentIntent that settle when the sandbox's clock passes
their time, as Stripe's test IBANs make them."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxServer
from paydesk.sandbox.sepa import DELAYED_SETTLE_SECONDS, SEPA_BEHAVIOURS, SETTLE_SECONDS
from tests.sandbox.conftest import ClientFactory, form

ONLINE: Any = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0 (sandbox test)"},
    }
}
HOLDER = {"name": "Jenny Rosen", "email": "jenny@example.com"}
SUCCEEDS = "DE89370400440532013000"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A sandbox of this module's own: its clock is moved to settle debits."""
    with SandboxServer() as running:
        yield running


@pytest.fixture
def client(server: SandboxServer, client_for: ClientFactory) -> stripe.StripeClient:
    return client_for(server.url)


def sepa_method(client: stripe.StripeClient, iban: str = SUCCEEDS) -> stripe.PaymentMethod:
    params: Any = {"type": "sepa_debit", "sepa_debit": {"iban": iban}, "billing_details": HOLDER}
    return client.v1.payment_methods.create(params)


def debit(
    client: stripe.StripeClient, iban: str = SUCCEEDS, amount: int = 2500, **extra: Any
) -> stripe.PaymentIntent:
    """A SEPA debit confirmed at once, with the customer's online acceptance."""
    params: Any = {
        "amount": amount,
        "currency": "eur",
        "payment_method_types": ["sepa_debit"],
        "payment_method": sepa_method(client, iban).id,
        "confirm": True,
        "mandate_data": ONLINE,
        **extra,
    }
    return client.v1.payment_intents.create(params)


def events_about(client: stripe.StripeClient, *object_ids: str) -> list[str]:
    """The types of the events about these objects, oldest first."""
    listed = client.v1.events.list({"limit": 100}).data
    return [e.type for e in reversed(listed) if e.data.object["id"] in object_ids]


# -- PaymentMethods --------------------------------------------------------------------------


def test_a_sepa_debit_method_keeps_where_the_account_is_never_its_number(
    client: stripe.StripeClient, server: SandboxServer
) -> None:
    pm = sepa_method(client, "DE89 3704 0044 0532 0130 00")

    assert pm.type == "sepa_debit"
    account = pm.sepa_debit
    assert account is not None
    assert (account.country, account.bank_code, account.branch_code, account.last4) == (
        "DE",
        "37040044",
        "",
        "3000",
    )
    assert account.fingerprint
    assert pm.billing_details.name == "Jenny Rosen"
    raw = httpx.get(
        f"{server.url}/v1/payment_methods/{pm.id}",
        headers={"Authorization": "Bearer sk_test_sandbox"},
    ).text
    events = httpx.get(
        f"{server.url}/v1/events", headers={"Authorization": "Bearer sk_test_sandbox"}
    ).text
    assert "0532013000" not in raw + events
    again = sepa_method(client, SUCCEEDS)
    assert again.sepa_debit is not None
    assert again.sepa_debit.fingerprint == account.fingerprint


def test_the_bank_and_branch_codes_come_from_the_countrys_layout(
    client: stripe.StripeClient,
) -> None:
    pm = sepa_method(client, "FR1420041010050500013M02606")

    assert pm.sepa_debit is not None
    assert (pm.sepa_debit.bank_code, pm.sepa_debit.branch_code) == ("20041", "01005")


@pytest.mark.parametrize(
    ("iban", "message"),
    [
        ("DE89370400440532013001", "The IBAN you entered is invalid."),
        ("DE8937040044053201300", "The IBAN you entered is invalid."),
        ("DE89-3704-0044-0532-0130-00", "The IBAN you entered is invalid."),
        ("US89370400440532013000", 'The IBAN you entered is invalid, "US" is not a supported'),
    ],
)
def test_an_iban_that_fails_its_checks_is_refused(
    client: stripe.StripeClient, iban: str, message: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sepa_method(client, iban)

    error = refused.value
    assert (error.code, error.param) == ("invalid_bank_account_iban", "sepa_debit[iban]")
    assert error.user_message is not None
    assert error.user_message.startswith(message)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"billing_details": HOLDER}, "sepa_debit[iban]"),
        (
            {"sepa_debit": {"iban": SUCCEEDS}, "billing_details": {"email": "j@example.com"}},
            "billing_details[name]",
        ),
        (
            {"sepa_debit": {"iban": SUCCEEDS}, "billing_details": {"name": "Jenny Rosen"}},
            "billing_details[email]",
        ),
        (
            {"sepa_debit": {"iban": "GB82WEST12345698765432"}, "billing_details": HOLDER},
            "billing_details[address][country]",
        ),
    ],
)
def test_what_stripe_requires_of_a_sepa_debit_method(
    client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_methods.create({"type": "sepa_debit", **params})  # type: ignore[arg-type]

    assert (refused.value.code, refused.value.param) == ("parameter_missing", param)


def test_a_gb_iban_takes_the_holders_address(client: stripe.StripeClient) -> None:
    billing = {**HOLDER, "address": {"country": "GB", "line1": "1 Test Street"}}
    params: Any = {
        "type": "sepa_debit",
        "sepa_debit": {"iban": "GB82WEST12345698765432"},
        "billing_details": billing,
    }
    pm = client.v1.payment_methods.create(params)
    assert pm.sepa_debit is not None
    assert (pm.sepa_debit.country, pm.sepa_debit.bank_code) == ("GB", "WEST")


def test_every_test_iban_makes_a_payment_method(client: stripe.StripeClient) -> None:
    for iban in SEPA_BEHAVIOURS:
        billing = {**HOLDER, "address": {"country": iban[:2], "line1": "1 Test Street"}}
        params: Any = {
            "type": "sepa_debit",
            "sepa_debit": {"iban": iban},
            "billing_details": billing,
        }
        pm = client.v1.payment_methods.create(params)
        assert pm.sepa_debit is not None
        assert (pm.sepa_debit.country, pm.sepa_debit.last4) == (iban[:2], iban[-4:])


def test_the_publishable_key_creates_sepa_debit_methods(server: SandboxServer) -> None:
    answer = httpx.post(
        f"{server.url}/v1/payment_methods",
        headers={"Authorization": "Bearer pk_test_sandbox"},
        data={
            "type": "sepa_debit",
            "sepa_debit[iban]": SUCCEEDS,
            "billing_details[name]": "Jenny Rosen",
            "billing_details[email]": "jenny@example.com",
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["sepa_debit"]["last4"] == "3000"


# -- confirming ------------------------------------------------------------------------------


def test_a_debit_processes_with_a_mandate_and_a_pending_charge(
    client: stripe.StripeClient,
) -> None:
    pi = debit(client)

    assert pi.status == "processing"
    assert pi.processing is None
    assert pi.amount_received == 0
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert (charge.status, charge.paid, charge.balance_transaction) == ("pending", False, None)
    details = charge.payment_method_details
    assert details is not None
    assert details.type == "sepa_debit"
    sepa = details.sepa_debit
    assert sepa is not None
    assert (sepa.country, sepa.bank_code, sepa.last4) == ("DE", "37040044", "3000")
    assert sepa.mandate is not None
    mandate = client.v1.mandates.retrieve(sepa.mandate)
    assert (mandate.status, mandate.type, mandate.payment_method) == (
        "active",
        "multi_use",
        pi.payment_method,
    )
    acceptance = mandate.customer_acceptance
    assert acceptance.type == "online"
    assert acceptance.online is not None
    assert acceptance.online.ip_address == "203.0.113.7"
    assert mandate.payment_method_details.sepa_debit is not None
    assert len(mandate.payment_method_details.sepa_debit.reference) == 16
    page = httpx.get(mandate.payment_method_details.sepa_debit.url)
    assert page.status_code == 200
    assert mandate.payment_method_details.sepa_debit.reference in page.text
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.payment_intents.confirm(pi.id, form({"mandate_data": ONLINE}))
    assert again.value.code == "payment_intent_unexpected_state"


def test_a_debit_succeeds_once_the_clock_passes_a_minute(
    client: stripe.StripeClient, server: SandboxServer
) -> None:
    pi = debit(client, amount=3100)
    charge_id = str(pi.latest_charge)

    server.advance_clock(SETTLE_SECONDS - 1)
    assert client.v1.payment_intents.retrieve(pi.id).status == "processing"
    server.advance_clock(1)

    done = client.v1.payment_intents.retrieve(pi.id)
    assert (done.status, done.amount_received) == ("succeeded", 3100)
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, True)
    assert str(charge.balance_transaction).startswith("txn_")
    assert events_about(client, pi.id, charge_id) == [
        "payment_intent.created",
        "charge.pending",
        "payment_intent.processing",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]


# Stripe's AT row: what each does, when, and the failure code it gives.
AT_IBANS = [
    ("AT611904300234573201", SETTLE_SECONDS, "succeeded", None),
    ("AT321904300235473204", DELAYED_SETTLE_SECONDS, "succeeded", None),
    ("AT861904300235473202", SETTLE_SECONDS, "failed", "generic_could_not_process"),
    ("AT051904300235473205", DELAYED_SETTLE_SECONDS, "failed", "generic_could_not_process"),
    ("AT591904300235473203", SETTLE_SECONDS, "succeeded", None),
    ("AT981904300000343434", SETTLE_SECONDS, "failed", "charge_exceeds_source_limit"),
    ("AT601904300000121212", SETTLE_SECONDS, "failed", "charge_exceeds_weekly_limit"),
    ("AT981904300002222227", SETTLE_SECONDS, "failed", "insufficient_funds"),
]


@pytest.mark.parametrize(("iban", "settles_after", "charge_status", "failure_code"), AT_IBANS)
def test_each_test_iban_settles_as_stripe_says(
    client: stripe.StripeClient,
    server: SandboxServer,
    iban: str,
    settles_after: float,
    charge_status: str,
    failure_code: str | None,
) -> None:
    pi = debit(client, iban)
    charge_id = str(pi.latest_charge)

    server.advance_clock(settles_after - 1)
    assert client.v1.charges.retrieve(charge_id).status == "pending"
    server.advance_clock(1)

    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.status, charge.failure_code) == (charge_status, failure_code)
    got = client.v1.payment_intents.retrieve(pi.id)
    if charge_status == "succeeded":
        assert got.status == "succeeded"
        assert events_about(client, pi.id, charge_id)[-2:] == [
            "charge.succeeded",
            "payment_intent.succeeded",
        ]
        return
    assert charge.failure_message
    assert got.status == "requires_payment_method"
    assert got.payment_method is None
    error = got.last_payment_error
    assert error is not None
    assert (error.code, error.message, error.type) == (
        failure_code,
        charge.failure_message,
        "card_error",
    )
    assert error.payment_method is not None
    assert error.payment_method.id == pi.payment_method
    assert events_about(client, pi.id, charge_id)[-2:] == [
        "charge.failed",
        "payment_intent.payment_failed",
    ]


def test_the_disputed_iban_succeeds_and_is_then_disputed(
    client: stripe.StripeClient, server: SandboxServer
) -> None:
    pi = debit(client, "DE35370400440532013002")
    charge_id = str(pi.latest_charge)
    server.advance_clock(SETTLE_SECONDS)
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"

    server.advance_clock(5)

    charge = client.v1.charges.retrieve(charge_id)
    assert charge.disputed is True
    dispute = client.v1.disputes.list({"charge": charge_id}).data[0]
    assert (dispute.reason, dispute.status) == ("debit_not_authorized", "needs_response")
    assert dispute.payment_method_details is None


@pytest.mark.parametrize(
    ("token", "charge_status"),
    [("pm_success_de", "succeeded"), ("pm_failed_at", "failed"), ("pm_success_gb", "succeeded")],
)
def test_stripes_test_tokens_are_sepa_debit_methods(
    client: stripe.StripeClient, server: SandboxServer, token: str, charge_status: str
) -> None:
    pi = client.v1.payment_intents.create(
        form(
            {
                "amount": 1500,
                "currency": "eur",
                "payment_method_types": ["sepa_debit"],
                "payment_method": token,
                "confirm": True,
                "mandate_data": ONLINE,
            }
        )
    )
    assert pi.status == "processing"
    server.advance_clock(SETTLE_SECONDS)
    assert client.v1.charges.retrieve(str(pi.latest_charge)).status == charge_status


def test_payment_method_data_makes_the_method_on_confirm(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(
        form({"amount": 1200, "currency": "eur", "payment_method_types": ["sepa_debit"]})
    )
    confirmed = client.v1.payment_intents.confirm(
        pi.id,
        form(
            {
                "payment_method_data": {
                    "type": "sepa_debit",
                    "sepa_debit": {"iban": "AT611904300234573201"},
                    "billing_details": HOLDER,
                },
                "mandate_data": {"customer_acceptance": {"type": "offline"}},
            }
        ),
    )
    assert confirmed.status == "processing"
    charge = client.v1.charges.retrieve(str(confirmed.latest_charge))
    assert charge.payment_method_details is not None
    sepa = charge.payment_method_details.sepa_debit
    assert sepa is not None
    assert sepa.mandate is not None
    assert client.v1.mandates.retrieve(sepa.mandate).customer_acceptance.type == "offline"


def test_payment_method_data_names_the_missing_param_inside_it(
    client: stripe.StripeClient,
) -> None:
    pi = client.v1.payment_intents.create(
        form({"amount": 1200, "currency": "eur", "payment_method_types": ["sepa_debit"]})
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.confirm(
            pi.id,
            form(
                {
                    "payment_method_data": {"type": "sepa_debit", "sepa_debit": {"iban": SUCCEEDS}},
                    "mandate_data": ONLINE,
                }
            ),
        )
    assert refused.value.param == "payment_method_data[billing_details][name]"


# -- refusals --------------------------------------------------------------------------------


def test_a_secret_key_confirmation_needs_the_mandate(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(
        form(
            {
                "amount": 2000,
                "currency": "eur",
                "payment_method_types": ["sepa_debit"],
                "payment_method": sepa_method(client).id,
            }
        )
    )

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.confirm(pi.id)

    error = refused.value
    assert error.param == "mandate_data"
    assert error.user_message is not None
    assert error.user_message.startswith("This PaymentIntent requires a mandate, but no existing")
    assert error.error is not None
    assert error.error.payment_intent is not None
    assert error.error.payment_intent.status == "requires_confirmation"
    assert client.v1.payment_intents.retrieve(pi.id).latest_charge is None
    done = client.v1.payment_intents.confirm(pi.id, form({"mandate_data": ONLINE}))
    assert done.status == "processing"


@pytest.mark.parametrize(
    ("acceptance", "param"),
    [
        ({"accepted_at": 1700000000}, "mandate_data[customer_acceptance][type]"),
        ({"type": "paper"}, "mandate_data[customer_acceptance][type]"),
        ({"type": "online"}, "mandate_data[customer_acceptance][online]"),
        (
            {"type": "online", "online": {"ip_address": "203.0.113.7"}},
            "mandate_data[customer_acceptance][online][user_agent]",
        ),
    ],
)
def test_an_incomplete_acceptance_is_refused(
    client: stripe.StripeClient, acceptance: dict[str, Any], param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        debit(client, mandate_data={"customer_acceptance": acceptance})
    assert refused.value.param == param


def test_the_publishable_key_takes_the_acceptance_from_the_browser(
    client: stripe.StripeClient, server: SandboxServer
) -> None:
    pi = client.v1.payment_intents.create(
        form(
            {
                "amount": 2000,
                "currency": "eur",
                "payment_method_types": ["sepa_debit"],
                "payment_method": sepa_method(client).id,
            }
        )
    )
    answer = httpx.post(
        f"{server.url}/v1/payment_intents/{pi.id}/confirm",
        headers={"Authorization": "Bearer pk_test_sandbox", "User-Agent": "Browser/1.0"},
        data={"client_secret": pi.client_secret, "expand[]": "latest_charge"},
    )
    assert answer.status_code == 200, answer.text
    mandate_id = answer.json()["latest_charge"]["payment_method_details"]["sepa_debit"]["mandate"]
    online = client.v1.mandates.retrieve(mandate_id).customer_acceptance.online
    assert online is not None
    assert (online.ip_address, online.user_agent) == ("127.0.0.1", "Browser/1.0")


def test_sepa_debit_cannot_be_captured_manually(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as at_create:
        client.v1.payment_intents.create(
            form(
                {
                    "amount": 2000,
                    "currency": "eur",
                    "payment_method_types": ["sepa_debit"],
                    "capture_method": "manual",
                }
            )
        )
    assert at_create.value.param == "capture_method"
    assert at_create.value.user_message == (
        "capture_method=manual is not supported by payment method type sepa_debit"
    )
    automatic = client.v1.payment_intents.create(
        form({"amount": 2000, "currency": "eur", "capture_method": "manual"})
    )
    assert automatic.payment_method_types == ["card"]
    with pytest.raises(stripe.InvalidRequestError) as at_confirm:
        client.v1.payment_intents.confirm(
            automatic.id,
            form({"payment_method": sepa_method(client).id, "mandate_data": ONLINE}),
        )
    assert at_confirm.value.code == "payment_intent_incompatible_payment_method"


def test_a_mandate_that_does_not_exist_is_not_found(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.mandates.retrieve("mandate_nothing")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")


# -- refunds ---------------------------------------------------------------------------------


def test_a_refund_of_a_debit_is_pending_until_it_settles(
    client: stripe.StripeClient, server: SandboxServer
) -> None:
    pi = debit(client, amount=4000)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({"payment_intent": pi.id})
    server.advance_clock(SETTLE_SECONDS)

    refund = client.v1.refunds.create({"payment_intent": pi.id, "amount": 1500})

    assert refund.status == "pending"
    assert refund.destination_details is None
    server.advance_clock(SETTLE_SECONDS - 1)
    assert client.v1.refunds.retrieve(refund.id).status == "pending"
    server.advance_clock(1)
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    assert events_about(client, refund.id)[-3:] == [
        "refund.created",
        "refund.updated",
        "charge.refund.updated",
    ]
