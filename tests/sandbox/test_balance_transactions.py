"""Balance transactions through the official SDK: one for every movement of money, with
Stripe's fees, converted into the settlement currency, pending until the sandbox's clock
has passed two days, listed and expanded as Stripe does.

Expected fees are worked out by hand from the rules in paydesk/sandbox/fees.py and the
fixed rates in paydesk/sandbox/exchange.py (EUR 1.08, JPY 0.0067, KWD 3.25 US dollars)."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxConfig, SandboxServer
from paydesk.sandbox.balance import AVAILABLE_AFTER_SECONDS
from paydesk.sandbox.sepa import SETTLE_SECONDS
from tests.sandbox.conftest import ClientFactory, form, secret_auth, wait_for

# The keys of Stripe's own example (../shared/stripe/fixtures3.json, balance_transaction).
BALANCE_TRANSACTION_KEYS = {
    "id",
    "object",
    "amount",
    "available_on",
    "created",
    "currency",
    "description",
    "exchange_rate",
    "fee",
    "fee_details",
    "net",
    "reporting_category",
    "source",
    "status",
    "type",
    "balance_type",
}
FEE_DETAIL_KEYS = {"amount", "application", "currency", "description", "type"}
CARD = "4242424242424242"
DISPUTED_CARD = "4000000000000259"
ONLINE: Any = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0 (sandbox test)"},
    }
}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A sandbox of this module's own: its clock is moved to make funds available."""
    with SandboxServer(SandboxConfig(dispute_delay_seconds=0.05)) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer, client_for: ClientFactory) -> stripe.StripeClient:
    return client_for(server.url)


def pay(
    client: stripe.StripeClient, amount: int, currency: str = "usd", card: str = CARD
) -> stripe.PaymentIntent:
    params: Any = {
        "amount": amount,
        "currency": currency,
        "confirm": True,
        "payment_method_types": ["card"],
        "payment_method_data": {
            "type": "card",
            "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        },
    }
    return client.v1.payment_intents.create(params)


def txn_of(client: stripe.StripeClient, pi: stripe.PaymentIntent) -> stripe.BalanceTransaction:
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    return client.v1.balance_transactions.retrieve(str(charge.balance_transaction))


def raw(server: SandboxServer, path: str, **params: Any) -> Any:
    answer = httpx.get(f"{server.url}{path}", params=params, headers=secret_auth())
    assert answer.status_code == 200, answer.text
    return answer.json()


def advance(server: SandboxServer, seconds: float) -> None:
    answer = httpx.post(f"{server.url}/_sandbox/clock/advance", json={"seconds": seconds})
    assert answer.status_code == 200, answer.text


def fees(txn: stripe.BalanceTransaction) -> tuple[int, int, int]:
    return txn.amount, txn.fee, txn.net


# -- charges --------------------------------------------------------------------------------


def test_a_card_charge_has_stripes_shape_and_fee(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    pi = pay(client, 4200)
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    txn = raw(server, f"/v1/balance_transactions/{charge.balance_transaction}")

    assert set(txn) == BALANCE_TRANSACTION_KEYS
    [detail] = txn["fee_details"]
    assert set(detail) == FEE_DETAIL_KEYS
    assert detail == {
        "amount": 152,
        "application": None,
        "currency": "usd",
        "description": "Stripe processing fees",
        "type": "stripe_fee",
    }
    # 2.9% of 4200 is 121.8, plus 30: 151.8, rounded to 152.
    assert (txn["amount"], txn["fee"], txn["net"]) == (4200, 152, 4048)
    assert (txn["object"], txn["type"], txn["reporting_category"]) == (
        "balance_transaction",
        "charge",
        "charge",
    )
    assert (txn["currency"], txn["exchange_rate"], txn["balance_type"]) == ("usd", None, "payments")
    assert (txn["source"], txn["status"]) == (charge.id, "pending")
    assert txn["available_on"] == txn["created"] + 2 * 86_400


@pytest.mark.parametrize(
    ("amount", "fee"),
    [
        (500, 45),  # 14.5 + 30 = 44.5: a half rounds up
        (50, 31),  # 1.45 + 30 = 31.45
        (1550, 75),  # 44.95 + 30 = 74.95
        (10_000, 320),  # 290 + 30
    ],
)
def test_card_fees_are_rounded_to_the_nearest_cent(
    client: stripe.StripeClient, amount: int, fee: int
) -> None:
    txn = txn_of(client, pay(client, amount))
    assert fees(txn) == (amount, fee, amount - fee)


@pytest.mark.parametrize(
    ("amount", "currency", "settled", "fee", "rate"),
    [
        (2500, "eur", 2700, 108, 1.08),  # 25.00 EUR = 27.00 USD; 78.3 + 30
        (5000, "jpy", 3350, 127, 0.0067),  # 5000 JPY (no decimals) = 33.50 USD; 97.15 + 30
        (5120, "kwd", 1664, 78, 3.25),  # 5.120 KWD (three decimals) = 16.64 USD; 48.256 + 30
        (333, "jpy", 223, 36, 0.0067),  # 2.2311 USD rounds to 223; 6.467 + 30
    ],
)
def test_a_charge_in_another_currency_settles_in_usd(
    client: stripe.StripeClient,
    amount: int,
    currency: str,
    settled: int,
    fee: int,
    rate: float,
) -> None:
    txn = txn_of(client, pay(client, amount, currency))

    assert (txn.currency, txn.exchange_rate) == ("usd", rate)
    assert fees(txn) == (settled, fee, settled - fee)
    assert [(d.amount, d.currency) for d in txn.fee_details] == [(fee, "usd")]


def test_a_manual_capture_is_in_the_balance_once_captured(client: stripe.StripeClient) -> None:
    params: Any = {
        "amount": 3000,
        "currency": "usd",
        "confirm": True,
        "capture_method": "manual",
        "payment_method_types": ["card"],
        "payment_method": "pm_card_visa",
    }
    pi = client.v1.payment_intents.create(params)
    assert client.v1.charges.retrieve(str(pi.latest_charge)).balance_transaction is None

    client.v1.payment_intents.capture(pi.id, {"amount_to_capture": 2000})

    # 58 + 30 on the 2000 captured.
    assert fees(txn_of(client, pi)) == (2000, 88, 1912)


def sepa_debit(client: stripe.StripeClient, amount: int) -> stripe.PaymentIntent:
    pm: Any = {
        "type": "sepa_debit",
        "sepa_debit": {"iban": "DE89370400440532013000"},
        "billing_details": {"name": "Jenny Rosen", "email": "jenny@example.com"},
    }
    params: Any = {
        "amount": amount,
        "currency": "eur",
        "payment_method_types": ["sepa_debit"],
        "payment_method": client.v1.payment_methods.create(pm).id,
        "confirm": True,
        "mandate_data": ONLINE,
    }
    return client.v1.payment_intents.create(params)


@pytest.mark.parametrize(
    ("amount", "settled", "fee"),
    [
        (2500, 2700, 22),  # 0.8% of 27.00 USD is 21.6
        (100_000, 108_000, 540),  # 0.8% would be 864: capped at 5.00 EUR = 5.40 USD
    ],
)
def test_a_sepa_debit_is_in_the_balance_once_it_settles(
    server: SandboxServer, client: stripe.StripeClient, amount: int, settled: int, fee: int
) -> None:
    pi = sepa_debit(client, amount)
    assert client.v1.charges.retrieve(str(pi.latest_charge)).balance_transaction is None

    advance(server, SETTLE_SECONDS)

    txn = txn_of(client, pi)
    assert (txn.type, txn.exchange_rate, txn.status) == ("charge", 1.08, "pending")
    assert fees(txn) == (settled, fee, settled - fee)


@pytest.mark.parametrize(
    ("kind", "fee"),
    [
        ("ideal", 31),  # 0.29 EUR = 0.3132 USD
        ("bancontact", 65),  # 1.4% of 27.00 USD is 37.8, plus 0.25 EUR = 0.27 USD
    ],
)
def test_a_bank_redirect_payment_has_its_methods_fee(
    server: SandboxServer, client: stripe.StripeClient, kind: str, fee: int
) -> None:
    pm: Any = {"type": kind, "billing_details": {"name": "Jenny Rosen"}}
    params: Any = {
        "amount": 2500,
        "currency": "eur",
        "payment_method_types": [kind],
        "payment_method": client.v1.payment_methods.create(pm).id,
        "confirm": True,
        "return_url": "http://127.0.0.1:9/shop/return",
    }
    pi = client.v1.payment_intents.create(params)
    answer = httpx.post(
        f"{server.url}/_sandbox/payment_intents/{pi.id}/authenticate", json={"outcome": "succeed"}
    )
    assert answer.status_code == 200, answer.text

    paid = client.v1.payment_intents.retrieve(pi.id)
    assert fees(txn_of(client, paid)) == (2700, fee, 2700 - fee)


# -- the clock ------------------------------------------------------------------------------


def test_funds_become_available_when_the_clock_passes_two_days(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    txn = txn_of(client, pay(client, 1000))
    assert txn.status == "pending"

    advance(server, AVAILABLE_AFTER_SECONDS - 60)
    assert client.v1.balance_transactions.retrieve(txn.id).status == "pending"
    advance(server, 120)
    assert client.v1.balance_transactions.retrieve(txn.id).status == "available"
    assert client.v1.balance_transactions.retrieve(txn.id).available_on == txn.available_on


def test_a_charge_made_after_the_clock_moved_still_waits_two_days(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    advance(server, 10 * 86_400)
    txn = txn_of(client, pay(client, 1000))

    assert client.v1.balance_transactions.retrieve(txn.id).status == "pending"
    advance(server, AVAILABLE_AFTER_SECONDS)
    assert client.v1.balance_transactions.retrieve(txn.id).status == "available"


# -- refunds and disputes -------------------------------------------------------------------


def test_a_refund_takes_its_amount_out_without_a_fee(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    pi = pay(client, 4200)
    refund = client.v1.refunds.create({"payment_intent": pi.id, "amount": 1000})
    txn = raw(server, f"/v1/balance_transactions/{refund.balance_transaction}")

    assert set(txn) == BALANCE_TRANSACTION_KEYS
    assert (txn["type"], txn["reporting_category"], txn["source"]) == (
        "refund",
        "refund",
        refund.id,
    )
    assert (txn["amount"], txn["fee"], txn["net"], txn["fee_details"]) == (-1000, 0, -1000, [])
    assert txn["status"] == "available"


def test_a_refund_in_another_currency_is_converted(client: stripe.StripeClient) -> None:
    pi = pay(client, 5000, "jpy")
    refund = client.v1.refunds.create({"payment_intent": pi.id, "amount": 2001})
    txn = client.v1.balance_transactions.retrieve(str(refund.balance_transaction))

    # 2001 JPY is 13.4067 USD.
    assert (txn.amount, txn.net, txn.currency, txn.exchange_rate) == (-1341, -1341, "usd", 0.0067)


def test_a_failed_refund_brings_the_money_back(client: stripe.StripeClient) -> None:
    pi = pay(client, 3000, card="4000000000005126")
    refund = client.v1.refunds.create({"payment_intent": pi.id})
    failed = wait_for(
        lambda: (
            found if (found := client.v1.refunds.retrieve(refund.id)).status == "failed" else None
        )
    )
    txn = client.v1.balance_transactions.retrieve(str(failed.failure_balance_transaction))

    assert (txn.type, txn.amount, txn.fee, txn.source) == ("refund_failure", 3000, 0, refund.id)


def test_a_disputes_movements_are_balance_transactions(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    pi = pay(client, 2500, "eur", card=DISPUTED_CARD)
    dispute = wait_for(
        lambda: next(iter(client.v1.disputes.list({"payment_intent": pi.id}).data), None)
    )
    [withdrawal] = dispute.balance_transactions
    stored = raw(server, f"/v1/balance_transactions/{withdrawal.id}")

    assert stored == withdrawal.to_dict()
    assert set(stored) == BALANCE_TRANSACTION_KEYS
    assert (stored["type"], stored["source"], stored["currency"]) == (
        "adjustment",
        dispute.id,
        "usd",
    )
    assert (stored["amount"], stored["fee"], stored["net"]) == (-2700, 1500, -4200)
    assert stored["exchange_rate"] == 1.08
    [detail] = stored["fee_details"]
    assert (detail["amount"], detail["description"], detail["type"]) == (
        1500,
        "Dispute fee",
        "stripe_fee",
    )

    closed = httpx.post(
        f"{server.url}/_sandbox/disputes/{dispute.id}/close", json={"outcome": "won"}
    ).json()
    reinstatement = closed["balance_transactions"][1]
    assert raw(server, f"/v1/balance_transactions/{reinstatement['id']}") == reinstatement
    assert (reinstatement["amount"], reinstatement["fee"]) == (2700, 0)
    listed = client.v1.balance_transactions.list({"source": dispute.id}).data
    assert [t.id for t in listed] == [reinstatement["id"], withdrawal.id]


# -- expand ---------------------------------------------------------------------------------


def test_expand_returns_the_balance_transaction(client: stripe.StripeClient) -> None:
    pi = pay(client, 4200)
    charge = client.v1.charges.retrieve(str(pi.latest_charge), {"expand": ["balance_transaction"]})
    txn = charge.balance_transaction
    assert isinstance(txn, stripe.BalanceTransaction)
    assert (txn.source, txn.fee) == (charge.id, 152)

    expanded = client.v1.payment_intents.retrieve(
        pi.id, {"expand": ["latest_charge.balance_transaction"]}
    )
    latest = expanded.latest_charge
    assert isinstance(latest, stripe.Charge)
    assert isinstance(latest.balance_transaction, stripe.BalanceTransaction)
    assert latest.balance_transaction.id == txn.id

    refund = client.v1.refunds.create(
        {"payment_intent": pi.id, "amount": 200, "expand": ["balance_transaction"]}
    )
    assert isinstance(refund.balance_transaction, stripe.BalanceTransaction)
    assert refund.balance_transaction.amount == -200

    listed = client.v1.charges.list(
        form({"payment_intent": pi.id, "expand": ["data.balance_transaction"]})
    ).data
    assert [c.balance_transaction.id for c in listed] == [txn.id]  # type: ignore[union-attr]


# -- lists ----------------------------------------------------------------------------------


def test_the_list_pages_newest_first(client: stripe.StripeClient) -> None:
    made = [txn_of(client, pay(client, 1000 + n)).id for n in range(3)]

    first = client.v1.balance_transactions.list({"limit": 2})
    assert [t.id for t in first.data] == made[:0:-1]
    assert first.has_more is True
    assert first.url == "/v1/balance_transactions"
    second = client.v1.balance_transactions.list({"limit": 2, "starting_after": made[1]})
    assert second.data[0].id == made[0]
    assert set(raw_keys(second.data[0])) == BALANCE_TRANSACTION_KEYS


def raw_keys(txn: stripe.BalanceTransaction) -> set[str]:
    return set(txn.to_dict())


def test_the_list_filters_by_type_and_source(client: stripe.StripeClient) -> None:
    pi = pay(client, 4200)
    refund = client.v1.refunds.create({"payment_intent": pi.id, "amount": 500})
    charge_txn = txn_of(client, pi)

    refunds = client.v1.balance_transactions.list({"type": "refund", "limit": 100}).data
    assert refunds[0].id == refund.balance_transaction
    assert {t.type for t in refunds} == {"refund"}
    charges = client.v1.balance_transactions.list({"type": "charge", "limit": 100}).data
    assert {t.type for t in charges} == {"charge"}
    assert charge_txn.id in {t.id for t in charges}
    by_source = client.v1.balance_transactions.list({"source": charge_txn.source}).data
    assert [t.id for t in by_source] == [charge_txn.id]
    assert client.v1.balance_transactions.list({"payout": "po_none"}).data == []
    created = client.v1.balance_transactions.list(
        {"created": {"gte": charge_txn.created}, "limit": 100}
    ).data
    assert charge_txn.id in {t.id for t in created}


def test_an_unknown_balance_transaction_is_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.balance_transactions.retrieve("txn_nothing")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.balance_transactions.list(form({"colour": "red"}))
    assert unknown.value.param == "colour"


# -- the settlement currency ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("settlement", "amount", "fee", "rate"),
    [
        # 42.00 USD at 149.253731343 JPY: 6268.66 rounds to 6269 JPY; 181.801 + 44.776
        ("jpy", 6269, 227, 149.253731343),
        # at 0.307692307692 KWD: 12.923 KWD = 12923 fils; 374.767 + 92.308
        ("kwd", 12923, 467, 0.307692307692),
    ],
)
def test_an_account_may_settle_in_another_currency(
    client_for: ClientFactory, settlement: str, amount: int, fee: int, rate: float
) -> None:
    with SandboxServer(SandboxConfig(settlement_currency=settlement)) as other:
        client = client_for(other.url)
        pi = pay(client, 4200, "usd", card=CARD)
        txn = txn_of(client, pi)
        assert (txn.currency, txn.exchange_rate) == (settlement, rate)
        assert fees(txn) == (amount, fee, amount - fee)
        same = txn_of(client, pay(client, 5000, settlement))
        assert same.exchange_rate is None
        assert same.amount == 5000


def test_a_settlement_currency_needs_a_rate() -> None:
    with pytest.raises(ValueError, match="settlement_currency"):
        SandboxConfig(settlement_currency="xyz")


def test_idempotent_replays_make_no_second_transaction(client: stripe.StripeClient) -> None:
    key = str(uuid.uuid4())
    params: Any = {
        "amount": 1234,
        "currency": "usd",
        "confirm": True,
        "payment_method": "pm_card_visa",
    }
    first = client.v1.payment_intents.create(params, options={"idempotency_key": key})
    again = client.v1.payment_intents.create(params, options={"idempotency_key": key})
    assert again.latest_charge == first.latest_charge
    charge = client.v1.charges.retrieve(str(first.latest_charge))
    listed = client.v1.balance_transactions.list({"source": charge.id}).data
    assert [t.id for t in listed] == [charge.balance_transaction]
