"""SEPA Direct Debit, iDEAL and Bancontact from end to end: paydesk over HTTP, the official
SDK inside it talking to the sandbox, whose clock settles a debit and whose bank page
authorizes a redirect; the webhooks it then posts pay the order (or the reconciler does,
when they are lost). The customer hears by e-mail, the shop by its webhooks, each once."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

import httpx
import orjson
import pytest
import stripe
from aiohttp import web
from sqlalchemy import select

from paydesk.composition import Services, build
from paydesk.config import Settings
from paydesk.notifications.models import Notification
from paydesk.sandbox.sepa import REFUND_SETTLE_SECONDS, SETTLE_SECONDS
from paydesk.sandbox.signing import signature_header
from paydesk.webhooks.receiver import PATH as WEBHOOK_PATH
from tests.e2e.test_purchase import card, create_order
from tests.e2e.test_refunds_disputes_e2e import ledger, ledger_reaches, refund_status
from tests.e2e.test_webhooks_e2e import wait_for
from tests.fixtures.paydesk import Paydesk
from tests.fixtures.smtp import SmtpServer, parts

T = TypeVar("T")

SEPA_SUCCEEDS = "DE89370400440532013000"
SEPA_FAILS = "AT861904300235473202"
HOLDER = {"name": "Jenny Rosen", "email": "jenny@example.com"}
RETURN_URL = "https://shop.example/checkout/result"
AMOUNT = 5000  # create_order's two books
EUR_ONLY = ("sepa_debit", "ideal")
PATIENCE = 10.0  # seconds a test waits for what the webhooks bring


@pytest.fixture
def method_types() -> tuple[str, ...] | None:
    """PAYDESK_PAYMENT_METHOD_TYPES; a test parametrizes it to pin the methods."""
    return None


@pytest.fixture
def paydesk_settings(
    paydesk_settings: Settings,
    listener: socket.socket,
    smtp_server: SmtpServer,
    method_types: tuple[str, ...] | None,
) -> Settings:
    """The shared settings, with a real SMTP server, links back to this paydesk, a shop
    webhook receiver on loopback allowed, and the methods this test pins."""
    return dataclasses.replace(
        paydesk_settings,
        public_url=f"http://127.0.0.1:{listener.getsockname()[1]}",
        smtp=smtp_server.settings,
        webhook_allowed_networks=("127.0.0.0/8",),
        payment_method_types=method_types,
    )


@pytest.fixture
async def shop_receiver() -> AsyncIterator[str]:
    """Where the shop's backend hears from paydesk: it answers every webhook with 204."""

    async def handle(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/hooks"
    await runner.cleanup()


@pytest.fixture
async def shop(paydesk: Paydesk, shop_receiver: str) -> AsyncIterator[httpx.AsyncClient]:
    """The shop's backend, by API, with a webhook endpoint of its own registered at paydesk
    (the rows queued for it are what the tests read)."""
    async with paydesk.client() as client:
        answer = await client.post(
            "/api/webhook-endpoints", json={"url": shop_receiver, "events": ["*"]}
        )
        assert answer.status_code == 201, answer.text
        yield client


@pytest.fixture
async def services(paydesk_settings: Settings, paydesk: Paydesk) -> AsyncIterator[Services]:
    """paydesk's services on the test's database, as `paydesk reconcile` and `paydesk events
    replay` build them; processing payments are reconciled at any age."""
    settings = dataclasses.replace(paydesk_settings, reconcile_processing_after=timedelta(0))
    built = build(settings, database=paydesk.db)
    yield built
    await built.gateway.close()


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    """The first answer of `probe` that is not None, asked until `PATIENCE` seconds pass."""
    deadline = time.monotonic() + PATIENCE
    while True:
        found = await probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.05)


def sepa_method(stripe_client: stripe.StripeClient, iban: str) -> str:
    """A SEPA Direct Debit PaymentMethod, as Stripe.js makes one from the IBAN field."""
    params: Any = {"type": "sepa_debit", "sepa_debit": {"iban": iban}, "billing_details": HOLDER}
    return stripe_client.v1.payment_methods.create(params).id


def ideal_method(stripe_client: stripe.StripeClient) -> str:
    params: Any = {"type": "ideal", "ideal": {"bank": "ing"}, "billing_details": {"name": "J R"}}
    return stripe_client.v1.payment_methods.create(params).id


async def eur_order(paydesk: Paydesk) -> dict[str, Any]:
    return await create_order(paydesk, currency="eur")


async def pay(
    paydesk: Paydesk, order: dict[str, Any], token: str | None = None, **body: Any
) -> httpx.Response:
    """POST /api/payments as the customer's browser, with the order's checkout token."""
    async with paydesk.client(token or order["checkout_token"]) as browser:
        return await browser.post(
            "/api/payments",
            json={"order_id": order["id"], **body},
            headers={"User-Agent": "Mozilla/5.0 (e2e)"},
        )


async def debit(
    paydesk: Paydesk, stripe_client: stripe.StripeClient, order: dict[str, Any], iban: str
) -> dict[str, Any]:
    answer = await pay(
        paydesk, order, payment_method=sepa_method(stripe_client, iban), mandate_accepted=True
    )
    assert answer.status_code == 200, answer.text
    payment: dict[str, Any] = answer.json()
    assert payment["status"] == "processing", payment
    return payment


async def advance_clock(paydesk: Paydesk, seconds: float) -> None:
    async with httpx.AsyncClient(base_url=paydesk.sandbox.url) as sandbox:
        answer = await sandbox.post("/_sandbox/clock/advance", json={"seconds": seconds})
    assert answer.status_code == 200, answer.text


async def order_status(shop: httpx.AsyncClient, order_id: str) -> str:
    status: str = (await shop.get(f"/api/orders/{order_id}")).json()["status"]
    return status


async def order_becomes(shop: httpx.AsyncClient, order_id: str, wanted: str) -> None:
    async def probe() -> bool | None:
        return True if await order_status(shop, order_id) == wanted else None

    await eventually(probe, f"order {order_id} is {wanted}")


async def messages(shop: httpx.AsyncClient, payment_id: str) -> list[tuple[str, str]]:
    """The e-mails and shop webhooks queued about the payment, as (channel, kind), sorted."""
    answer = await shop.get("/api/notifications", params={"payment_id": payment_id, "limit": 100})
    assert answer.status_code == 200, answer.text
    return sorted((n["channel"], n["kind"]) for n in answer.json()["data"])


async def inbox(shop: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    events = (await shop.get("/api/webhooks/events", params={"limit": 200})).json()["data"]
    return {e["id"]: e for e in events}


def sandbox_events(stripe_client: stripe.StripeClient, intent_id: str) -> list[dict[str, Any]]:
    """Every event the sandbox made about the PaymentIntent and its charges, oldest first."""
    listed = stripe_client.v1.events.list({"limit": 100}).data
    about = []
    for event in reversed(listed):
        body = event.to_dict()
        obj = body["data"]["object"]
        if intent_id in (obj.get("id"), obj.get("payment_intent")):
            about.append(body)
    return about


async def sandbox_webhook_endpoint(paydesk: Paydesk) -> dict[str, Any]:
    """The sandbox's endpoint that posts to this test's paydesk."""
    async with httpx.AsyncClient(base_url=paydesk.sandbox.url, auth=("sk_test_e2e", "")) as api:
        listed = (await api.get("/v1/webhook_endpoints", params={"limit": 100})).json()["data"]
    port = paydesk.url.rsplit(":", 1)[1]
    [mine] = [e for e in listed if e["url"] == f"http://127.0.0.1:{port}{WEBHOOK_PATH}"]
    return dict(mine)


# -- SEPA Direct Debit -----------------------------------------------------------------------


async def test_a_sepa_debit_is_processing_then_paid_once_and_replays_change_nothing(
    paydesk: Paydesk,
    stripe_client: stripe.StripeClient,
    shop: httpx.AsyncClient,
    services: Services,
    webhook_secret: str,
) -> None:
    order = await eur_order(paydesk)
    payment = await debit(paydesk, stripe_client, order, SEPA_SUCCEEDS)
    method = payment["payment_method"]
    assert (method["type"], method["country"], method["last4"]) == ("sepa_debit", "DE", "3000")
    assert method["mandate"].startswith("mandate_")
    assert method["description"] == "SEPA Direct Debit · DE •••• 3000"
    assert await order_status(shop, order["id"]) == "awaiting_funds"
    assert await messages(shop, payment["id"]) == [
        ("email", "payment_processing"),
        ("webhook", "payment.processing"),
    ]
    assert await ledger(shop, payment["id"]) == []
    # The mandate is the customer's, accepted from their browser.
    mandate = stripe_client.v1.mandates.retrieve(method["mandate"])
    assert mandate.customer_acceptance.online is not None
    assert mandate.customer_acceptance.online.user_agent == "Mozilla/5.0 (e2e)"

    await advance_clock(paydesk, SETTLE_SECONDS + 1)
    paid = await wait_for(paydesk, payment["id"], "succeeded")
    assert paid["timeline"][-1]["cause"] == "webhook"
    await order_becomes(shop, order["id"], "paid")
    await ledger_reaches(shop, payment["id"], [("charge", AMOUNT)])
    settled = [
        ("email", "payment_processing"),
        ("email", "receipt"),
        ("webhook", "order.paid"),
        ("webhook", "payment.processing"),
        ("webhook", "payment.succeeded"),
    ]
    assert await messages(shop, payment["id"]) == settled

    # Every event again: as Stripe redelivers it, then applied a second time by the worker.
    events = sandbox_events(stripe_client, payment["stripe_payment_intent_id"])
    types = [e["type"] for e in events]
    assert {"charge.pending", "payment_intent.processing", "payment_intent.succeeded"} <= set(types)
    stored = await eventually(
        lambda: _all_processed(shop, [e["id"] for e in events]), "every event applied"
    )
    for event in events:
        body = orjson.dumps(event)
        answer = await shop.post(
            WEBHOOK_PATH,
            content=body,
            headers={
                "Stripe-Signature": signature_header(body, webhook_secret),
                "Content-Type": "application/json",
            },
        )
        assert answer.status_code == 200, answer.text
    assert await services.events.replay(event_ids=[e["id"] for e in events]) == len(events)

    async def reapplied() -> dict[str, dict[str, Any]] | None:
        now = await _all_processed(shop, [e["id"] for e in events])
        if now is None or any(
            now[e["id"]]["processed_at"] == stored[e["id"]]["processed_at"] for e in events
        ):
            return None
        return now

    again = await eventually(reapplied, "every event applied a second time")
    assert set(again) == set(stored)  # the redeliveries stored nothing new
    assert {again[e["id"]]["source"] for e in events} == {"webhook"}
    assert (await shop.get(f"/api/payments/{payment['id']}")).json()["status"] == "succeeded"
    assert await order_status(shop, order["id"]) == "paid"
    assert await messages(shop, payment["id"]) == settled
    assert await ledger(shop, payment["id"]) == [("charge", AMOUNT)]


async def _all_processed(
    shop: httpx.AsyncClient, event_ids: list[str]
) -> dict[str, dict[str, Any]] | None:
    """The inbox when every one of `event_ids` is in it and applied; None until then."""
    events = await inbox(shop)
    if all(events.get(i, {}).get("status") == "processed" for i in event_ids):
        return events
    return None


async def test_a_debit_without_the_mandate_is_refused_and_then_accepted(
    paydesk: Paydesk, stripe_client: stripe.StripeClient, shop: httpx.AsyncClient
) -> None:
    order = await eur_order(paydesk)
    refused = await pay(paydesk, order, payment_method=sepa_method(stripe_client, SEPA_SUCCEEDS))
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "mandate_accepted")
    assert error["code"], error
    assert "mandate" in error["message"], error
    listed = (await shop.get("/api/payments", params={"order_id": order["id"]})).json()["data"]
    assert all(p["status"] not in ("processing", "succeeded") for p in listed), listed
    intents = stripe_client.v1.payment_intents.list({"limit": 100}).data
    mine = [i for i in intents if i.metadata.to_dict().get("paydesk_order_id") == order["id"]]
    assert all(i.latest_charge is None and i.status != "processing" for i in mine), mine
    assert await order_status(shop, order["id"]) == "pending_payment"

    payment = await debit(paydesk, stripe_client, order, SEPA_SUCCEEDS)
    assert payment["payment_method"]["mandate"].startswith("mandate_")
    assert await order_status(shop, order["id"]) == "awaiting_funds"


async def test_a_failed_debit_mails_a_link_and_the_order_is_then_paid_by_card(
    paydesk: Paydesk,
    stripe_client: stripe.StripeClient,
    shop: httpx.AsyncClient,
    smtp_server: SmtpServer,
) -> None:
    order = await eur_order(paydesk)
    payment = await debit(paydesk, stripe_client, order, SEPA_FAILS)
    assert payment["payment_method"]["country"] == "AT"

    await advance_clock(paydesk, SETTLE_SECONDS + 1)
    failed = await wait_for(paydesk, payment["id"], "failed")
    # Whichever of charge.failed and payment_intent.payment_failed is applied first says why.
    assert failed["last_error"]["code"] == "generic_could_not_process"
    await order_becomes(shop, order["id"], "payment_failed")
    assert await ledger(shop, payment["id"]) == []
    assert await messages(shop, payment["id"]) == [
        ("email", "payment_failed"),
        ("email", "payment_processing"),
        ("webhook", "payment.failed"),
        ("webhook", "payment.processing"),
    ]

    async def failure_mail() -> EmailMessage | None:
        sent = [m for m in smtp_server.messages if "did not go through" in str(m["Subject"])]
        return sent[0] if sent else None

    mail = await eventually(failure_mail, "the failure e-mail is delivered")
    text = parts(mail)["plain"]
    assert "SEPA Direct Debit" in text
    assert "Stripe can't identify a particular reason for the payment failure." in text
    link = re.search(rf"{re.escape(paydesk.url)}/checkout/{order['id']}\?token=(\S+)", text)
    assert link is not None, text
    async with httpx.AsyncClient() as browser:
        page = await browser.get(link.group(0))
    assert page.status_code == 200
    assert order["id"] in page.text

    # The customer follows the link and pays by card.
    answer = await pay(
        paydesk,
        order,
        token=link.group(1),
        payment_method=card(stripe_client, "4242424242424242"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "succeeded"
    assert answer.json()["payment_method"]["type"] == "card"
    await order_becomes(shop, order["id"], "paid")
    await ledger_reaches(shop, answer.json()["id"], [("charge", AMOUNT)])
    charges = (await shop.get(f"/api/payments/{answer.json()['id']}/ledger")).json()["entries"]
    assert [e["kind"] for e in charges] == ["charge"]


async def test_a_debit_failure_told_by_its_charge_alone_says_why(
    paydesk: Paydesk,
    stripe_client: stripe.StripeClient,
    shop: httpx.AsyncClient,
    webhook_secret: str,
) -> None:
    """`charge.failed` may be applied before `payment_intent.payment_failed` (the sandbox
    sends it first, as Stripe does): the payment fails with the bank's reason, and the
    customer's e-mail is queued with it."""
    order = await eur_order(paydesk)
    payment = await debit(paydesk, stripe_client, order, SEPA_FAILS)
    endpoint = await sandbox_webhook_endpoint(paydesk)
    async with httpx.AsyncClient(base_url=paydesk.sandbox.url, auth=("sk_test_e2e", "")) as api:
        disabled = await api.post(
            f"/v1/webhook_endpoints/{endpoint['id']}", data={"disabled": "true"}
        )
        assert disabled.status_code == 200, disabled.text
    await advance_clock(paydesk, SETTLE_SECONDS + 1)
    [charge_failed] = [
        e
        for e in sandbox_events(stripe_client, payment["stripe_payment_intent_id"])
        if e["type"] == "charge.failed"
    ]
    body = orjson.dumps(charge_failed)
    async with httpx.AsyncClient(base_url=paydesk.url) as stripe_side:
        answer = await stripe_side.post(
            WEBHOOK_PATH,
            content=body,
            headers={"Stripe-Signature": signature_header(body, webhook_secret)},
        )
    assert answer.status_code == 200, answer.text

    failed = await wait_for(paydesk, payment["id"], "failed")
    assert failed["last_error"]["code"] == "generic_could_not_process"
    assert failed["last_error"]["message"].startswith("Stripe can't identify")
    assert failed["timeline"][-1]["detail"], failed["timeline"][-1]
    async with paydesk.db.sessions() as session:
        [mail] = await session.scalars(
            select(Notification).where(
                Notification.payment_id == payment["id"], Notification.kind == "payment_failed"
            )
        )
    told = orjson.loads(mail.payload)["payment"]
    assert told["error_message"].startswith("Stripe can't identify"), told


async def test_a_disputed_debit_follows_the_dispute_flow(
    paydesk: Paydesk, stripe_client: stripe.StripeClient, shop: httpx.AsyncClient
) -> None:
    """Stripe's disputed test IBAN settles, then the customer's bank claims it back."""
    order = await eur_order(paydesk)
    payment = await debit(paydesk, stripe_client, order, "DE35370400440532013002")
    await advance_clock(paydesk, SETTLE_SECONDS + 1)
    disputed = await wait_for(paydesk, payment["id"], "disputed")
    assert disputed["payment_method"]["type"] == "sepa_debit"

    async def its_dispute() -> dict[str, Any] | None:
        listed = (await shop.get("/api/disputes")).json()["data"]
        mine = [d for d in listed if d["payment_id"] == payment["id"]]
        return dict(mine[0]) if mine else None

    dispute = await eventually(its_dispute, "the dispute")
    assert (dispute["reason"], dispute["amount"]) == ("debit_not_authorized", AMOUNT)
    await order_becomes(shop, order["id"], "disputed")
    # The debit was taken, then withdrawn with the dispute's fee, each once.
    taken = [("charge", AMOUNT), ("dispute_withdrawal", -AMOUNT), ("dispute_fee", -1500)]
    await ledger_reaches(shop, payment["id"], taken)


async def test_a_refund_of_a_debit_is_pending_until_it_settles(
    paydesk: Paydesk, stripe_client: stripe.StripeClient, shop: httpx.AsyncClient
) -> None:
    order = await eur_order(paydesk)
    payment = await debit(paydesk, stripe_client, order, SEPA_SUCCEEDS)
    await advance_clock(paydesk, SETTLE_SECONDS + 1)
    await wait_for(paydesk, payment["id"], "succeeded")
    await ledger_reaches(shop, payment["id"], [("charge", AMOUNT)])

    answer = await shop.post(f"/api/payments/{payment['id']}/refunds", json={})
    assert answer.status_code == 201, answer.text
    refund = answer.json()
    assert (refund["status"], refund["amount"]) == ("pending", AMOUNT)

    await advance_clock(paydesk, REFUND_SETTLE_SECONDS - 1)
    assert stripe_client.v1.refunds.retrieve(refund["stripe_refund_id"]).status == "pending"
    assert (await refund_status(shop, payment["id"], "pending"))["id"] == refund["id"]
    assert await ledger(shop, payment["id"]) == [("charge", AMOUNT)]

    await advance_clock(paydesk, 1)
    await refund_status(shop, payment["id"], "succeeded")
    await wait_for(paydesk, payment["id"], "refunded")
    await ledger_reaches(shop, payment["id"], [("charge", AMOUNT), ("refund", -AMOUNT)])
    await order_becomes(shop, order["id"], "refunded")


async def test_a_lost_success_webhook_is_made_up_for_by_the_reconciler(
    paydesk: Paydesk,
    stripe_client: stripe.StripeClient,
    shop: httpx.AsyncClient,
    services: Services,
) -> None:
    order = await eur_order(paydesk)
    payment = await debit(paydesk, stripe_client, order, SEPA_SUCCEEDS)
    assert await services.payments.reconcile(older_than=timedelta(hours=1)) == 1
    assert (await shop.get(f"/api/payments/{payment['id']}")).json()["status"] == "processing"

    endpoint = await sandbox_webhook_endpoint(paydesk)
    async with httpx.AsyncClient(base_url=paydesk.sandbox.url, auth=("sk_test_e2e", "")) as api:
        disabled = await api.post(
            f"/v1/webhook_endpoints/{endpoint['id']}", data={"disabled": "true"}
        )
    assert disabled.json()["status"] == "disabled", disabled.text
    await advance_clock(paydesk, SETTLE_SECONDS + 1)
    intent_id = payment["stripe_payment_intent_id"]
    assert stripe_client.v1.payment_intents.retrieve(intent_id).status == "succeeded"

    # Asked about once; paid, it is no longer waiting, and a second run asks about nothing.
    first = await services.payments.reconcile(older_than=timedelta(hours=1))
    second = await services.payments.reconcile(older_than=timedelta(hours=1))
    assert (first, second) == (1, 0)
    paid = (await shop.get(f"/api/payments/{payment['id']}")).json()
    assert paid["status"] == "succeeded"
    assert [e["cause"] for e in paid["timeline"] if e["to_status"] == "succeeded"] == ["reconcile"]
    assert await order_status(shop, order["id"]) == "paid"
    assert await ledger(shop, payment["id"]) == [("charge", AMOUNT)]
    assert (await messages(shop, payment["id"])).count(("email", "receipt")) == 1
    # paydesk never heard of the success from a webhook: the reconciler paid it.
    succeeded = [e for e in sandbox_events(stripe_client, intent_id) if "succeeded" in e["type"]]
    assert succeeded
    assert not {e["id"] for e in succeeded} & set(await inbox(shop))


# -- iDEAL -----------------------------------------------------------------------------------


async def sent_to_the_bank(
    paydesk: Paydesk, stripe_client: stripe.StripeClient, order: dict[str, Any]
) -> dict[str, Any]:
    answer = await pay(
        paydesk, order, payment_method=ideal_method(stripe_client), return_url=RETURN_URL
    )
    assert answer.status_code == 200, answer.text
    payment: dict[str, Any] = answer.json()
    assert payment["status"] == "requires_action", payment
    redirect = payment["next_action"]["redirect_url"]
    assert redirect == (
        f"{paydesk.sandbox.url}/_sandbox/redirect/{payment['stripe_payment_intent_id']}"
    )
    return payment


async def at_the_bank(payment: dict[str, Any], outcome: str) -> str:
    """The customer's browser on the bank's page, pressing a button; where it is sent."""
    redirect = payment["next_action"]["redirect_url"]
    async with httpx.AsyncClient() as browser:
        page = await browser.get(redirect)
        assert page.status_code == 200
        assert "iDEAL · ING" in page.text
        answer = await browser.post(redirect, data={"outcome": outcome})
    assert answer.status_code == 303, answer.text
    location: str = answer.headers["location"]
    assert location.startswith(RETURN_URL)
    return location


async def test_ideal_authorized_at_the_bank_pays_and_refused_leaves_the_order_payable(
    paydesk: Paydesk, stripe_client: stripe.StripeClient, shop: httpx.AsyncClient
) -> None:
    order = await eur_order(paydesk)
    payment = await sent_to_the_bank(paydesk, stripe_client, order)
    assert await order_status(shop, order["id"]) == "pending_payment"
    location = await at_the_bank(payment, "succeed")
    assert "redirect_status=succeeded" in location

    paid = await wait_for(paydesk, payment["id"], "succeeded")
    assert paid["timeline"][-1]["cause"] == "webhook"
    assert paid["next_action"] is None
    method = paid["payment_method"]
    assert (method["type"], method["bank"]) == ("ideal", "ing")
    assert method["description"].startswith("iDEAL · ING")
    await order_becomes(shop, order["id"], "paid")
    await ledger_reaches(shop, payment["id"], [("charge", AMOUNT)])

    refused_order = await eur_order(paydesk)
    refused = await sent_to_the_bank(paydesk, stripe_client, refused_order)
    assert "redirect_status=failed" in await at_the_bank(refused, "fail")
    await wait_for(paydesk, refused["id"], "failed")
    await order_becomes(shop, refused_order["id"], "payment_failed")
    assert await ledger(shop, refused["id"]) == []
    # Back at the checkout, by card (Stripe wants the return_url again: the PaymentIntent
    # takes methods that redirect).
    again = await pay(paydesk, refused_order, payment_method="pm_card_visa", return_url=RETURN_URL)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "succeeded"
    await order_becomes(shop, refused_order["id"], "paid")


# -- currencies ------------------------------------------------------------------------------


async def test_a_usd_order_cannot_be_debited(
    paydesk: Paydesk, stripe_client: stripe.StripeClient, shop: httpx.AsyncClient
) -> None:
    order = await create_order(paydesk, currency="usd")
    answer = await pay(
        paydesk,
        order,
        payment_method=sepa_method(stripe_client, SEPA_SUCCEEDS),
        mandate_accepted=True,
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "payment_intent_incompatible_payment_method",
        "payment_method",
    )
    assert "sepa_debit" in error["message"], error
    assert await order_status(shop, order["id"]) == "pending_payment"
    listed = (await shop.get("/api/payments", params={"order_id": order["id"]})).json()["data"]
    assert all(p["status"] not in ("processing", "succeeded") for p in listed), listed


@pytest.mark.parametrize("method_types", [EUR_ONLY])
async def test_pinned_eur_methods_refuse_a_usd_order(
    paydesk: Paydesk, stripe_client: stripe.StripeClient, shop: httpx.AsyncClient
) -> None:
    order = await create_order(paydesk, currency="usd")
    for body in ({}, {"payment_method": "pm_card_visa"}):
        answer = await pay(paydesk, order, **body)
        assert answer.status_code == 409, answer.text
        error = answer.json()["error"]
        assert error["code"] == "currency_not_payable", error
        assert "USD" in error["message"]
    assert await order_status(shop, order["id"]) == "pending_payment"
    intents = stripe_client.v1.payment_intents.list({"limit": 100}).data
    assert not [i for i in intents if i.metadata.to_dict().get("paydesk_order_id") == order["id"]]

    # An EUR order's PaymentIntent takes exactly the pinned methods.
    eur = await eur_order(paydesk)
    started = await pay(paydesk, eur)
    assert started.status_code == 200, started.text
    intent = stripe_client.v1.payment_intents.retrieve(started.json()["stripe_payment_intent_id"])
    assert intent.payment_method_types == list(EUR_ONLY)
