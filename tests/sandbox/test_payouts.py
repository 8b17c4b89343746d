"""Payouts through the official SDK: automatic ones on each advance of the sandbox's clock,
manual ones, paid a day later, failing at the bank, and the Balance they come out of.

Expected fees are worked out from paydesk/sandbox/fees.py (2.9% + 30 on a USD card)."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxConfig, SandboxServer
from paydesk.sandbox.balance import AVAILABLE_AFTER_SECONDS
from paydesk.sandbox.payouts import ARRIVAL_SECONDS, INSUFFICIENT_MESSAGE
from tests.sandbox.conftest import ClientFactory, secret_auth, wait_for
from tests.sandbox.test_balance_transactions import pay, txn_of

DISPUTED_CARD = "4000000000000259"
PAST_AVAILABLE = AVAILABLE_AFTER_SECONDS + 60


# The keys of Stripe's own example (../shared/stripe/fixtures3.json, payout).
PAYOUT_KEYS = {
    "id",
    "object",
    "amount",
    "application_fee",
    "application_fee_amount",
    "arrival_date",
    "automatic",
    "balance_transaction",
    "created",
    "currency",
    "description",
    "destination",
    "failure_balance_transaction",
    "failure_code",
    "failure_message",
    "livemode",
    "metadata",
    "method",
    "original_payout",
    "reconciliation_status",
    "reversed_by",
    "source_type",
    "statement_descriptor",
    "status",
    "type",
    "trace_id",
    "payout_method",
}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A sandbox of this module's own: its clock is moved to pay funds out."""
    with SandboxServer(SandboxConfig(dispute_delay_seconds=0.05)) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer, client_for: ClientFactory) -> stripe.StripeClient:
    return client_for(server.url)


def advance(server: SandboxServer, seconds: float) -> None:
    answer = httpx.post(f"{server.url}/_sandbox/clock/advance", json={"seconds": seconds})
    assert answer.status_code == 200, answer.text


def fail(server: SandboxServer, po_id: str, code: str = "account_closed") -> httpx.Response:
    return httpx.post(f"{server.url}/_sandbox/payouts/{po_id}/fail", json={"failure_code": code})


def newest_payout(client: stripe.StripeClient) -> stripe.Payout:
    [payout] = client.v1.payouts.list({"limit": 1}).data
    return payout


def contents(client: stripe.StripeClient, po_id: str) -> list[stripe.BalanceTransaction]:
    return client.v1.balance_transactions.list({"payout": po_id, "limit": 100}).data


def raw_balance(url: str) -> Any:
    answer = httpx.get(f"{url}/v1/balance", headers=secret_auth())
    assert answer.status_code == 200, answer.text
    return answer.json()


def available(client: stripe.StripeClient, currency: str = "usd") -> int:
    balance = client.v1.balance.retrieve()
    return next(a.amount for a in balance.available if a.currency == currency)


def events_of(client: stripe.StripeClient, po_id: str) -> list[str]:
    events = client.v1.events.list({"type": "payout.*", "limit": 100}).data
    return [e.type for e in reversed(events) if e.data.object["id"] == po_id]


def sweep(server: SandboxServer) -> None:
    """Pay out whatever earlier tests left available, so a test starts from nothing."""
    advance(server, 1)


# -- automatic payouts ----------------------------------------------------------------------


@pytest.fixture
def fresh_server() -> Iterator[SandboxServer]:
    """A sandbox with nothing in its balance yet, for a test that counts every cent."""
    with SandboxServer(SandboxConfig(dispute_delay_seconds=0.05)) as running:
        yield running


def test_an_automatic_payout_pays_out_whats_available(
    fresh_server: SandboxServer, client_for: ClientFactory
) -> None:
    server, client = fresh_server, client_for(fresh_server.url)
    first = pay(client, 4200)
    second = pay(client, 3000)
    refund = client.v1.refunds.create({"payment_intent": first.id, "amount": 1000})
    disputed = pay(client, 2000, card=DISPUTED_CARD)
    dispute = wait_for(
        lambda: next(iter(client.v1.disputes.list({"payment_intent": disputed.id}).data), None)
    )
    closed = httpx.post(
        f"{server.url}/_sandbox/disputes/{dispute.id}/close", json={"outcome": "lost"}
    )
    assert closed.status_code == 200, closed.text
    ours = {
        txn_of(client, first).id,
        txn_of(client, second).id,
        txn_of(client, disputed).id,
        str(refund.balance_transaction),
        *(t.id for t in client.v1.disputes.retrieve(dispute.id).balance_transactions),
    }

    advance(server, PAST_AVAILABLE)

    payout = newest_payout(client)
    assert (payout.automatic, payout.status, payout.currency) == (True, "in_transit", "usd")
    assert payout.arrival_date == payout.created + ARRIVAL_SECONDS
    assert payout.description == "STRIPE PAYOUT"
    listed = contents(client, payout.id)
    assert ours <= {t.id for t in listed}
    [own] = [t for t in listed if t.type == "payout"]
    assert own.id == payout.balance_transaction
    assert (own.amount, own.fee, own.net, own.status) == (
        -payout.amount,
        0,
        -payout.amount,
        "available",
    )
    assert own.source == payout.id
    assert sum(t.net for t in listed if t.type != "payout") == payout.amount
    assert sum(t.net for t in listed) == 0
    # 4200 - 152, 3000 - 117, 2000 - 88, -1000 refund, -2000 - 1500 lost dispute.
    assert {t.id for t in listed} == ours | {own.id}
    assert payout.amount == 4048 + 2883 + 1912 - 1000 - 3500
    assert available(client) == 0


def test_nothing_new_makes_no_payout(server: SandboxServer, client: stripe.StripeClient) -> None:
    sweep(server)
    before = newest_payout(client).id if client.v1.payouts.list({"limit": 1}).data else None
    advance(server, 60)
    after = newest_payout(client).id if client.v1.payouts.list({"limit": 1}).data else None
    assert after == before


def test_a_negative_balance_is_not_paid_out(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    sweep(server)
    pi = pay(client, 2000)
    advance(server, PAST_AVAILABLE)  # the charge is paid out
    charge_payout = newest_payout(client)
    client.v1.refunds.create({"payment_intent": pi.id})
    advance(server, 60)
    assert newest_payout(client).id == charge_payout.id
    assert available(client) == -2000
    pay(client, 5000)
    advance(server, PAST_AVAILABLE)
    # 5000 - 175 on the new charge, less the 2000 refunded.
    payout = newest_payout(client)
    assert payout.amount == 4825 - 2000
    assert sum(t.net for t in contents(client, payout.id)) == 0


def test_payouts_are_paid_a_day_later(server: SandboxServer, client: stripe.StripeClient) -> None:
    pay(client, 1500)
    advance(server, PAST_AVAILABLE)
    payout = newest_payout(client)
    assert payout.status == "in_transit"

    advance(server, ARRIVAL_SECONDS - 120)
    assert client.v1.payouts.retrieve(payout.id).status == "in_transit"
    advance(server, 240)
    assert client.v1.payouts.retrieve(payout.id).status == "paid"
    assert events_of(client, payout.id) == ["payout.created", "payout.updated", "payout.paid"]
    updated = client.v1.events.list({"type": "payout.updated", "limit": 100}).data
    [ours] = [e for e in updated if e.data.object["id"] == payout.id]
    assert ours.to_dict()["data"]["previous_attributes"] == {"status": "in_transit"}


def test_a_payout_has_stripes_shape(server: SandboxServer, client: stripe.StripeClient) -> None:
    pay(client, 1000)
    advance(server, PAST_AVAILABLE)
    payout = newest_payout(client)
    answer = httpx.get(f"{server.url}/v1/payouts/{payout.id}", headers=secret_auth())
    stored = answer.json()

    assert set(stored) == PAYOUT_KEYS
    assert (stored["object"], stored["livemode"], stored["method"], stored["type"]) == (
        "payout",
        False,
        "standard",
        "bank_account",
    )
    assert stored["destination"].startswith("ba_")
    assert (stored["failure_code"], stored["failure_balance_transaction"]) == (None, None)
    assert stored["reconciliation_status"] == "completed"


# -- settlement currencies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settlement", "amount", "net"),
    [
        # 5000 JPY: 145 + 44.776 (0.30 USD) JPY of fee.
        ("jpy", 5000, 5000 - 190),
        # 10.000 KWD: 290 + 92.308 (0.30 USD) fils of fee.
        ("kwd", 10_000, 10_000 - 382),
    ],
)
def test_payouts_are_in_the_settlement_currency(
    client_for: ClientFactory, settlement: str, amount: int, net: int
) -> None:
    with SandboxServer(SandboxConfig(settlement_currency=settlement)) as other:
        client = client_for(other.url)
        pi = pay(client, amount, settlement)
        assert txn_of(client, pi).net == net
        advance(other, PAST_AVAILABLE)

        payout = newest_payout(client)
        assert (payout.currency, payout.amount, payout.automatic) == (settlement, net, True)
        listed = contents(client, payout.id)
        assert {t.currency for t in listed} == {settlement}
        assert sum(t.net for t in listed) == 0
        assert raw_balance(other.url)["available"][0] == {
            "amount": 0,
            "currency": settlement,
            "source_types": {"card": 0},
        }


# -- manual payouts -------------------------------------------------------------------------


def test_a_manual_payout_and_insufficient_funds(client_for: ClientFactory) -> None:
    with SandboxServer(SandboxConfig(automatic_payouts=False)) as manual:
        client = client_for(manual.url)
        pay(client, 4200)
        with pytest.raises(stripe.InvalidRequestError) as pending:
            client.v1.payouts.create({"amount": 1000, "currency": "usd"})
        assert (pending.value.http_status, pending.value.code) == (400, "balance_insufficient")
        assert pending.value.user_message == INSUFFICIENT_MESSAGE

        advance(manual, PAST_AVAILABLE)
        assert client.v1.payouts.list().data == []
        assert available(client) == 4048
        with pytest.raises(stripe.InvalidRequestError) as too_much:
            client.v1.payouts.create({"amount": 4049, "currency": "usd"})
        assert too_much.value.code == "balance_insufficient"

        payout = client.v1.payouts.create(
            {
                "amount": 4000,
                "currency": "usd",
                "description": "Weekly",
                "metadata": {"batch": "7"},
            }
        )
        assert (payout.automatic, payout.status, payout.amount) == (False, "in_transit", 4000)
        assert (payout.description, payout.metadata.to_dict()) == ("Weekly", {"batch": "7"})
        assert payout.reconciliation_status == "not_applicable"
        own = client.v1.balance_transactions.retrieve(str(payout.balance_transaction))
        assert (own.type, own.amount, own.source) == ("payout", -4000, payout.id)
        assert available(client) == 48
        assert client.v1.payouts.retrieve(payout.id).id == payout.id

        advance(manual, ARRIVAL_SECONDS + 60)
        assert client.v1.payouts.retrieve(payout.id).status == "paid"
        assert events_of(client, payout.id) == ["payout.created", "payout.updated", "payout.paid"]


def test_a_manual_payout_then_the_automatic_one_pays_the_rest(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    sweep(server)
    pay(client, 10_000)  # 320 of fee
    advance(server, PAST_AVAILABLE)
    automatic = newest_payout(client)
    assert automatic.amount == 9680
    assert available(client) == 0
    with pytest.raises(stripe.InvalidRequestError) as insufficient:
        client.v1.payouts.create({"amount": 1, "currency": "usd"})
    assert insufficient.value.code == "balance_insufficient"


def test_bad_payout_requests_are_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payouts.retrieve("po_nothing")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as negative:
        client.v1.payouts.create({"amount": -5, "currency": "usd"})
    assert negative.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as status:
        client.v1.payouts.list({"status": "lost"})  # type: ignore[typeddict-item]
    assert status.value.param == "status"


# -- failures -------------------------------------------------------------------------------


def test_a_failed_payout_returns_its_money(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    sweep(server)
    pay(client, 2000)  # 88 of fee
    advance(server, PAST_AVAILABLE)
    payout = newest_payout(client)
    assert payout.amount == 1912
    assert available(client) == 0

    answer = fail(server, payout.id)
    assert answer.status_code == 200, answer.text

    failed = client.v1.payouts.retrieve(payout.id)
    assert (failed.status, failed.failure_code) == ("failed", "account_closed")
    assert failed.failure_message == "The bank account has been closed."
    back = client.v1.balance_transactions.retrieve(str(failed.failure_balance_transaction))
    assert (back.type, back.amount, back.fee, back.status) == (
        "payout_failure",
        1912,
        0,
        "available",
    )
    assert back.source == payout.id
    assert available(client) == 1912
    assert events_of(client, payout.id) == ["payout.created", "payout.updated", "payout.failed"]
    # The failed payout stays failed when its arrival date passes.
    advance(server, ARRIVAL_SECONDS + 60)
    assert client.v1.payouts.retrieve(payout.id).status == "failed"
    assert events_of(client, payout.id) == ["payout.created", "payout.updated", "payout.failed"]
    # The money came back, and the next automatic payout pays it out again.
    again = newest_payout(client)
    assert again.id != payout.id
    assert back.id in {t.id for t in contents(client, again.id)}

    assert fail(server, payout.id).status_code == 400
    assert fail(server, again.id, "no_such_code").status_code == 400
    assert fail(server, "po_nothing").status_code == 404


# -- lists and the balance ------------------------------------------------------------------


def test_the_list_filters_by_status_and_created(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    pay(client, 1000)
    advance(server, PAST_AVAILABLE)
    fresh = newest_payout(client)
    in_transit = client.v1.payouts.list({"status": "in_transit", "limit": 100}).data
    assert fresh.id in {p.id for p in in_transit}
    assert {p.status for p in in_transit} == {"in_transit"}
    paid = client.v1.payouts.list({"status": "paid", "limit": 100}).data
    assert fresh.id not in {p.id for p in paid}
    created = client.v1.payouts.list({"created": {"gte": fresh.created}, "limit": 100}).data
    assert fresh.id in {p.id for p in created}
    assert client.v1.payouts.list({"created": {"gt": fresh.created + 10}}).data == []
    listed = client.v1.payouts.list({"limit": 1})
    assert (listed.url, listed.data[0].id) == ("/v1/payouts", fresh.id)


def test_the_balance_shows_available_and_pending(client_for: ClientFactory) -> None:
    with SandboxServer(SandboxConfig(automatic_payouts=False)) as manual:
        client = client_for(manual.url)
        empty = raw_balance(manual.url)
        assert empty == {
            "object": "balance",
            "available": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
            "connect_reserved": [{"amount": 0, "currency": "usd"}],
            "livemode": False,
            "pending": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
        }
        pi = pay(client, 4200)  # 152 of fee
        client.v1.refunds.create({"payment_intent": pi.id, "amount": 1000})
        balance = client.v1.balance.retrieve()
        assert [(a.amount, a.currency) for a in balance.pending] == [(4048, "usd")]
        assert [(a.amount, a.currency) for a in balance.available] == [(-1000, "usd")]

        advance(manual, PAST_AVAILABLE)
        balance = client.v1.balance.retrieve()
        assert [a.amount for a in balance.pending] == [0]
        assert [a.amount for a in balance.available] == [3048]


# -- Stripe's test bank accounts, and payouts at once ---------------------------------------


@pytest.mark.parametrize(
    ("account", "code"),
    [("000111111113", "account_closed"), ("000111111116", "no_account")],
)
def test_a_payout_to_a_failing_test_bank_account_fails_when_it_would_arrive(
    client_for: ClientFactory, account: str, code: str
) -> None:
    with SandboxServer(SandboxConfig(payout_account_number=account)) as other:
        client = client_for(other.url)
        pay(client, 5000)
        advance(other, PAST_AVAILABLE)
        payout = newest_payout(client)
        assert payout.status == "in_transit"
        advance(other, ARRIVAL_SECONDS)
        failed = client.v1.payouts.retrieve(payout.id)
        assert (failed.status, failed.failure_code) == ("failed", code)
        assert failed.failure_balance_transaction is not None
        assert events_of(client, payout.id) == ["payout.created", "payout.updated", "payout.failed"]
        # The bank returned the money; the same advance pays it out again (and that fails
        # in its turn, a day later).
        again = newest_payout(client)
        assert again.id != payout.id
        assert [t.type for t in contents(client, again.id)] == ["payout", "payout_failure"]


def test_payouts_run_at_once_pay_out_what_is_available_now(
    client_for: ClientFactory,
) -> None:
    with SandboxServer(SandboxConfig(automatic_payouts=False)) as other:
        client = client_for(other.url)
        nothing = httpx.post(f"{other.url}/_sandbox/payouts/run")
        assert nothing.json() == {"object": "list", "data": []}
        pay(client, 5000)
        advance(other, PAST_AVAILABLE)  # available, but no automatic payouts on advance
        assert client.v1.payouts.list({"limit": 10}).data == []
        answer = httpx.post(f"{other.url}/_sandbox/payouts/run")
        assert answer.status_code == 200, answer.text
        [made] = answer.json()["data"]
        assert (made["automatic"], made["amount"], made["status"]) == (True, 4825, "in_transit")
        assert sum(t.net for t in contents(client, made["id"])) == 0
        assert other.run_payouts() == []  # nothing is left to pay out


def test_funds_becoming_available_are_told_by_balance_available(
    client_for: ClientFactory,
) -> None:
    with SandboxServer(SandboxConfig(automatic_payouts=False)) as other:
        client = client_for(other.url)
        pay(client, 5000)
        assert client.v1.events.list({"type": "balance.available"}).data == []
        advance(other, PAST_AVAILABLE)
        [event] = client.v1.events.list({"type": "balance.available"}).data
        balance = event.data.object
        assert balance["object"] == "balance"
        assert [(a["currency"], a["amount"]) for a in balance["available"]] == [("usd", 4825)]
        assert [(a["currency"], a["amount"]) for a in balance["pending"]] == [("usd", 0)]
        advance(other, PAST_AVAILABLE)  # nothing more became available: no event
        assert len(client.v1.events.list({"type": "balance.available"}).data) == 1
