"""`paydesk demo` (what `make run` starts): the sandbox and the API on loopback with a
fresh SQLite database, a scripted purchase shown as it happens, then a walkthrough of
commands to try against the running server. Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from paydesk.app import create_app
from paydesk.composition import Services
from paydesk.config import SANDBOX_SECRET_KEY, Settings, SmtpSettings
from paydesk.demo_sinks import MailSink, ShopBackend
from paydesk.edge.server import uvicorn_config
from paydesk.logs import configure_logging
from paydesk.migrate import upgrade
from paydesk.money import format_amount
from paydesk.sandbox import SandboxConfig, SandboxServer, WebhookEndpointConfig
from paydesk.webhooks.receiver import PATH as WEBHOOK_PATH
from paydesk.worker.runner import WorkerSchedule

DEMO_DATABASE = Path("paydesk-demo.db")
DEMO_MAIL = Path("paydesk-demo-mail")
# Quick to react, so that what happens shows up while the newcomer watches.
DEMO_WORKER = WorkerSchedule(
    poll_seconds=0.5,
    backfill_every_seconds=30,
    reconcile_every_seconds=60,
    reconcile_older_than=timedelta(minutes=2),
    settle_every_seconds=1,
    fraud_every_seconds=1,
)
# The demo refunds a payment with an early fraud warning by itself when it is at most this
# much (minor units: 100.00 USD), as PAYDESK_EFW_AUTO_REFUND_MAX=10000 would.
DEMO_EFW_AUTO_REFUND_MAX = 10000
# How long the fraud step waits for the warning to arrive and the worker to refund it.
FRAUD_WAIT_SECONDS = 15.0
# How long the payout step waits for paydesk to record Stripe's payouts and read them.
PAYOUT_WAIT_SECONDS = 30.0
WALKTHROUGH_END = "# (end of walkthrough)"
DEMO_OPERATOR = "demo@shop.example"
ITEMS = [
    {"sku": "TEE-BLK-M", "name": "T-shirt, black, M", "unit_amount": 1999, "quantity": 2},
    {"sku": "MUG-01", "name": "Mug", "unit_amount": 1200, "quantity": 1},
]


def _say(text: str = "") -> None:
    print(text, flush=True)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def run_demo(*, port: int, sandbox_port: int) -> None:
    configure_logging("WARNING")
    for name, wanted in [("paydesk", port), ("sandbox", sandbox_port)]:
        if not _port_free(wanted):
            option = "--port" if name == "paydesk" else "--sandbox-port"
            raise SystemExit(
                f"paydesk demo: port {wanted} on 127.0.0.1 is taken; "
                f"choose another with `paydesk demo {option} N`."
            )
    database_path, database_url = await asyncio.to_thread(_fresh_database)

    public_url = f"http://127.0.0.1:{port}"
    # The sandbox posts its events to paydesk signed with this secret, as Stripe would.
    webhook_secret = "whsec_" + secrets.token_urlsafe(24)
    endpoint = WebhookEndpointConfig(url=f"{public_url}{WEBHOOK_PATH}", secret=webhook_secret)
    sandbox_config = SandboxConfig(webhook_endpoints=(endpoint,), delivery_base_delay_seconds=0.5)
    sandbox = SandboxServer(sandbox_config, port=sandbox_port).start()
    mailbox = MailSink(database_path.parent / DEMO_MAIL)
    await asyncio.to_thread(mailbox.start)
    shop_backend = ShopBackend()
    await shop_backend.start()
    settings = Settings(
        database_url=database_url,
        stripe_secret_key=SANDBOX_SECRET_KEY,
        stripe_api_base=sandbox.url,
        stripe_webhook_secrets=(webhook_secret,),
        demo=True,
        public_url=public_url,
        smtp=SmtpSettings(port=mailbox.port, sender="Demo Shop <orders@shop.example>"),
        # The shop's demo backend listens on loopback, which shop webhooks may not reach
        # unless allowed.
        webhook_allowed_networks=("127.0.0.0/8",),
        efw_auto_refund_max=DEMO_EFW_AUTO_REFUND_MAX,
    )
    app = create_app(settings, worker=DEMO_WORKER)
    services: Services = app.state.services
    operator_password = secrets.token_urlsafe(12)
    shop_key, _ = await services.auth.create_key("demo shop")
    await services.operators.create(DEMO_OPERATOR, operator_password)
    server = uvicorn.Server(
        uvicorn_config(
            app,
            host="127.0.0.1",
            port=port,
            timeout_graceful_shutdown=2,
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                await serving
                return
            await asyncio.sleep(0.01)
        _say(f"paydesk is running at {settings.public_url}  (API docs: {settings.public_url}/docs)")
        _say(f"the offline Stripe sandbox is at {sandbox.url}")
        _say(f"database: {database_path}\n")
        await _register_shop_backend(settings.public_url, shop_key, shop_backend)
        payment_id = await _scripted_purchase(settings.public_url, sandbox.url, shop_key)
        await _show_webhooks(settings.public_url, shop_key)
        await _refund_dispute_ledger(settings.public_url, sandbox, shop_key, payment_id)
        await _bank_payments(settings.public_url, sandbox, shop_key)
        await _cart_change(settings.public_url, sandbox.url, shop_key)
        await _fraud_warning(settings.public_url, sandbox.url, shop_key)
        await _show_notifications(mailbox, shop_backend)
        await _payouts(settings.public_url, sandbox, shop_key)
        await _checkout_link(settings.public_url, shop_key)
        _dashboard(settings.public_url, operator_password)
        _say(walkthrough(settings.public_url, sandbox.url, shop_key))
        _say("Press Ctrl-C to stop.")
        await serving
    finally:
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        await asyncio.to_thread(sandbox.stop)
        await asyncio.to_thread(mailbox.stop)
        await shop_backend.stop()
        _say("paydesk demo stopped.")


def _fresh_database() -> tuple[Path, str]:
    """A new, migrated demo database in the working folder (the last demo's is replaced)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
    path = DEMO_DATABASE.resolve()
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    return path, url


async def _card(sandbox: httpx.AsyncClient, number: str) -> str:
    """Turns a test card number into a PaymentMethod in the sandbox, as Stripe.js does in the
    customer's browser: card numbers never reach paydesk."""
    response = await sandbox.post(
        "/v1/payment_methods",
        data={
            "type": "card",
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
        },
    )
    response.raise_for_status()
    method_id: str = response.json()["id"]
    return method_id


async def _scripted_purchase(base_url: str, sandbox_url: str, shop_key: str) -> str:
    """A purchase with a declined card first; returns the payment's id."""
    shop = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {shop_key}"})
    sandbox = httpx.AsyncClient(base_url=sandbox_url, auth=(SANDBOX_SECRET_KEY, ""))
    async with shop, sandbox:
        _say("== A purchase, step by step ==")
        order = await _post(shop, "/api/orders", {
            "items": ITEMS, "currency": "usd", "customer_email": "ada@example.com",
        })  # fmt: skip
        _say(f"1. The shop creates order {order['id']}: 2 T-shirts and a mug.")
        _say(f"   paydesk computes the total itself: {order['amount_display']}.")
        browser = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {order['checkout_token']}"}
        )
        async with browser:
            method = await _card(sandbox, "4000000000000002")
            _say("2. The customer pays with 4000 0000 0000 0002, a card that is declined:")
            response = await browser.post(
                "/api/payments", json={"order_id": order["id"], "payment_method": method}
            )
            error = response.json()["error"]
            _say(f"   {response.status_code} {error['code']} ({error['decline_code']}): "
                 f"{error['message']}")  # fmt: skip
            method = await _card(sandbox, "4242424242424242")
            _say("3. They try again with 4242 4242 4242 4242:")
            payment = await _post(
                browser, "/api/payments", {"order_id": order["id"], "payment_method": method}
            )
            _say(f"   payment {payment['id']} is {payment['status']} "
                 f"(PaymentIntent {payment['stripe_payment_intent_id']}).")  # fmt: skip
            verified = await _post(browser, "/api/payments/verify", {"payment_id": payment["id"]})
            order_now = (await browser.get(f"/api/orders/{order['id']}")).json()
            _say(f"4. After the redirect the browser verifies: payment {verified['status']}, "
                 f"order {order_now['status']}.")  # fmt: skip
            _say("   The payment's timeline:")
            for entry in verified["timeline"]:
                _say(f"     {entry['at'][11:19]}  {entry['from_status'] or '(new)':>8} -> "
                     f"{entry['to_status']:<10} by {entry['cause']}")  # fmt: skip
        _say()
        return str(payment["id"])


async def _refund_dispute_ledger(
    base_url: str, sandbox: SandboxServer, shop_key: str, payment_id: str
) -> None:
    """A partial refund, a dispute that is lost, and the ledger that accounts for both."""
    shop = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {shop_key}"})
    stripe_js = httpx.AsyncClient(base_url=sandbox.url, auth=(SANDBOX_SECRET_KEY, ""))
    async with shop, stripe_js:
        refund = await _post(shop, f"/api/payments/{payment_id}/refunds", {"amount": 1200})
        payment = (await shop.get(f"/api/payments/{payment_id}")).json()
        _say(f"6. The mug came back broken: the shop refunds {refund['amount_display']} "
             f"(refund {refund['status']}); the payment is now {payment['status']}.")  # fmt: skip

        order = await _post(shop, "/api/orders", {
            "items": ITEMS[:1], "currency": "usd", "customer_email": "eve@example.com",
        })  # fmt: skip
        method = await _card(stripe_js, "4000000000000259")
        disputed = await _post(
            shop, "/api/payments", {"order_id": order["id"], "payment_method": method}
        )
        _say(f"7. Another customer pays {order['amount_display']} with 4000 0000 0000 0259: "
             f"{disputed['status']}; then their bank disputes it.")  # fmt: skip
        dispute = await _wait_for_dispute(shop, disputed["id"])
        _say(f"   Stripe's webhook brings dispute {dispute['id']} ({dispute['reason']}, "
             f"{dispute['status']}); payment and order show disputed.")  # fmt: skip
        sandbox.close_dispute(dispute["id"], "lost")
        for _ in range(100):
            dispute = (await shop.get(f"/api/disputes/{dispute['id']}")).json()
            if dispute["status"] == "lost":
                break
            await asyncio.sleep(0.1)
        _say(f"   The bank decides: the dispute is {dispute['status']}, the money stays gone.")

        ledger = (await shop.get("/api/ledger")).json()
        _say("8. The ledger: every money movement, once each, append-only:")
        for entry in ledger["data"]:
            _say(f"     {entry['kind']:<20} {entry['amount_display']:>12}  "
                 f"payment {entry['payment_id']}")  # fmt: skip
        balance = ", ".join(b["amount_display"] for b in ledger["balances"])
        _say(f"   Balance: {balance} (taken, less refunded, less lost to the dispute and its fee).")
        _say()


async def _bank_payments(base_url: str, sandbox: SandboxServer, shop_key: str) -> None:
    """A SEPA Direct Debit that the bank settles days later, and an iDEAL payment the
    customer authorizes at their bank's page."""
    shop = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {shop_key}"})
    stripe_js = httpx.AsyncClient(base_url=sandbox.url, auth=(SANDBOX_SECRET_KEY, ""))
    async with shop, stripe_js:
        order = await _post(shop, "/api/orders", {
            "items": ITEMS, "currency": "eur", "customer_email": "jonas@example.com",
        })  # fmt: skip
        method = await _bank_method(stripe_js, "sepa_debit", {
            "sepa_debit[iban]": "DE89370400440532013000",
            "billing_details[email]": "jonas@example.com",
        })  # fmt: skip
        payment = await _post(shop, "/api/payments", {
            "order_id": order["id"], "payment_method": method, "mandate_accepted": True,
        })  # fmt: skip
        order_now = (await shop.get(f"/api/orders/{order['id']}")).json()
        _say(f"9. A customer in Germany pays {order['amount_display']} by SEPA Direct Debit, "
             "accepting the mandate:")  # fmt: skip
        _say(f"   payment {payment['status']}, order {order_now['status']}: "
             f"{payment['payment_method']['description']}, a debit takes days.")  # fmt: skip
        sandbox.advance_clock(3 * 86400)
        order_now = await _wait_for_order(shop, order["id"], "paid")
        _say("   Three days later (the sandbox's clock moved on, as `paydesk sandbox-clock 3d`")
        _say(f"   does) the bank settles it: order {order_now['status']}.")

        order = await _post(shop, "/api/orders", {
            "items": ITEMS[:1], "currency": "eur", "customer_email": "sanne@example.com",
        })  # fmt: skip
        method = await _bank_method(stripe_js, "ideal", {"ideal[bank]": "ing"})
        payment = await _post(shop, "/api/payments", {
            "order_id": order["id"], "payment_method": method,
            "return_url": f"{base_url}/checkout/{order['id']}/result",
        })  # fmt: skip
        bank_page = payment["next_action"]["redirect_url"]
        _say(f"   Another pays {order['amount_display']} by iDEAL: payment {payment['status']}, "
             "off to the bank's page,")  # fmt: skip
        # The customer presses "Authorize" there; the bank sends them back to the shop.
        authorized = await stripe_js.post(bank_page, data={"outcome": "succeed"})
        if authorized.status_code != 303:
            raise RuntimeError(f"the sandbox's bank page answered {authorized.status_code}")
        order_now = await _wait_for_order(shop, order["id"], "paid")
        _say(f"   authorizes it there and comes back: order {order_now['status']}.")
        _say()


async def _cart_change(base_url: str, sandbox_url: str, shop_key: str) -> None:
    """An order whose items change after its payment has started, before it is paid: its
    PaymentIntent stays the same, and its amount follows the order."""
    shop = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {shop_key}"})
    stripe_api = httpx.AsyncClient(base_url=sandbox_url, auth=(SANDBOX_SECRET_KEY, ""))
    async with shop, stripe_api:
        order = await _post(shop, "/api/orders", {
            "items": ITEMS[:1], "currency": "usd", "customer_email": "grace@example.com",
        })  # fmt: skip
        browser = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {order['checkout_token']}"}
        )
        async with browser:
            # As the checkout page does on opening: the PaymentIntent is made, not confirmed.
            started = await _post(browser, "/api/payments", {"order_id": order["id"]})
            before = await _intent(stripe_api, started["stripe_payment_intent_id"])
            response = await shop.patch(
                f"/api/orders/{order['id']}",
                json={"items": ITEMS},
                headers={"Idempotency-Key": f"add-a-mug-{order['id']}"},
            )
            response.raise_for_status()
            changed = response.json()
            payment = (await shop.get(f"/api/payments/{started['id']}")).json()
            after = await _intent(stripe_api, payment["stripe_payment_intent_id"])
            _say("10. A cart changes before payment. A customer opens the checkout for 2 T-shirts")
            _say(f"    ({order['amount_display']}): payment {started['status']}, "
                 "not confirmed yet. They add a mug, and the shop sends")  # fmt: skip
            _say(f"    the order's new items (PATCH /api/orders/{{id}}): order version "
                 f"{changed['version']}, {order['amount_display']} -> "
                 f"{changed['amount_display']}.")  # fmt: skip
            _say(f"      PaymentIntent before the change: {before['id']} for "
                 f"{format_amount(before['amount'], before['currency'])}")  # fmt: skip
            _say(f"      PaymentIntent after the change:  {after['id']} for "
                 f"{format_amount(after['amount'], after['currency'])}")  # fmt: skip
            kept = (after["id"], after["client_secret"]) == (before["id"], before["client_secret"])
            if kept:
                _say("    (the same one, updated in place, with the same client secret: the "
                     "checkout")  # fmt: skip
                _say("    page the customer has open goes on as it was).")
            else:
                _say("    (not the same PaymentIntent and client secret: the page starts over).")
            method = await _card(stripe_api, "4242424242424242")
            # The PaymentIntent was made for the checkout page, which takes bank methods too:
            # Stripe wants to know where a bank's page would send the customer back.
            paid = await _post(browser, "/api/payments", {
                "order_id": order["id"], "payment_method": method,
                "return_url": f"{base_url}/checkout/{order['id']}/result",
            })  # fmt: skip
            order_now = (await browser.get(f"/api/orders/{order['id']}")).json()
            _say(f"    They pay with 4242 4242 4242 4242: payment {paid['status']} for "
                 f"{paid['amount_display']}, order {order_now['status']}.")  # fmt: skip
        _say()


async def _intent(stripe_api: httpx.AsyncClient, intent_id: str) -> dict[str, Any]:
    """A PaymentIntent as Stripe has it."""
    response = await stripe_api.get(f"/v1/payment_intents/{intent_id}")
    response.raise_for_status()
    intent: dict[str, Any] = response.json()
    return intent


async def _fraud_warning(base_url: str, sandbox_url: str, shop_key: str) -> None:
    """A payment the card's issuer then reports as fraud: paydesk records Stripe's early
    fraud warning, and its worker refunds the payment, as it is under the demo's threshold."""
    shop = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {shop_key}"})
    stripe_js = httpx.AsyncClient(base_url=sandbox_url, auth=(SANDBOX_SECRET_KEY, ""))
    async with shop, stripe_js:
        order = await _post(shop, "/api/orders", {
            "items": ITEMS, "currency": "usd", "customer_email": "mallory@example.com",
        })  # fmt: skip
        method = await _card(stripe_js, "4000000000005423")
        paid = await _post(
            shop, "/api/payments", {"order_id": order["id"], "payment_method": method}
        )
        limit = format_amount(DEMO_EFW_AUTO_REFUND_MAX, "usd")
        _say("11. An early fraud warning, refunded automatically. The demo runs with")
        _say(f"    PAYDESK_EFW_AUTO_REFUND_MAX={DEMO_EFW_AUTO_REFUND_MAX} (minor units: {limit}): "
             "paydesk's worker refunds")  # fmt: skip
        _say("    in full a payment of at most that which the card's issuer reports as fraud.")
        _say(f"    A customer pays {order['amount_display']} with 4000 0000 0000 5423: payment "
             f"{paid['status']}. Then the card's")  # fmt: skip
        payment = await _wait_for_payment(
            shop, paid["id"], lambda p: bool(p["fraud"] and p["fraud"]["early_fraud_warning"])
        )
        if payment is None:
            _say("    issuer reports it, but paydesk had not recorded the early fraud warning")
            _say(f"    within {FRAUD_WAIT_SECONDS:.0f} s.\n")
            return
        fraud_type = payment["fraud"]["early_fraud_warning"]
        _say("    issuer reports it: Stripe's webhook brings the early fraud warning "
             f"({fraud_type});")  # fmt: skip
        _say("    paydesk records it on the payment and tells the shop (payment.fraud_warning).")
        payment = await _wait_for_payment(shop, paid["id"], lambda p: p["status"] == "refunded")
        if payment is None:
            _say(f"    paydesk's worker had not refunded it within {FRAUD_WAIT_SECONDS:.0f} s.\n")
            return
        refunds = (await shop.get(f"/api/payments/{paid['id']}/refunds")).json()["data"]
        refunded = sum(r["amount"] for r in refunds)
        total = format_amount(refunded, payment["currency"])
        reasons = ", ".join(sorted({r["reason"] or "none" for r in refunds}))
        times = f"{len(refunds)} time{'' if len(refunds) == 1 else 's'}"
        whole = "in full" if refunded == payment["amount"] else "in part"
        _say(f"    The worker refunds it {whole} before it can become a dispute ({total}, reason")
        _say(f"    {reasons}): refunded {times}, the payment is now {payment['status']}.")
        _say()


async def _wait_for_payment(
    shop: httpx.AsyncClient, payment_id: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """The payment once `done` holds for it; None if that takes FRAUD_WAIT_SECONDS."""
    deadline = asyncio.get_running_loop().time() + FRAUD_WAIT_SECONDS
    while True:
        payment: dict[str, Any] = (await shop.get(f"/api/payments/{payment_id}")).json()
        if done(payment):
            return payment
        if asyncio.get_running_loop().time() > deadline:
            return None
        await asyncio.sleep(0.1)


async def _bank_method(sandbox: httpx.AsyncClient, kind: str, details: dict[str, str]) -> str:
    """A bank PaymentMethod made in the sandbox, as the Payment Element makes one."""
    response = await sandbox.post(
        "/v1/payment_methods",
        data={"type": kind, "billing_details[name]": "Jonas Becker", **details},
    )
    response.raise_for_status()
    method_id: str = response.json()["id"]
    return method_id


async def _wait_for_order(shop: httpx.AsyncClient, order_id: str, status: str) -> dict[str, Any]:
    for _ in range(150):
        order: dict[str, Any] = (await shop.get(f"/api/orders/{order_id}")).json()
        if order["status"] == status:
            return order
        await asyncio.sleep(0.1)
    raise RuntimeError(f"order {order_id} never became {status}")


async def _wait_for_dispute(shop: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    for _ in range(150):
        disputes = (await shop.get("/api/disputes")).json()["data"]
        mine = [d for d in disputes if d["payment_id"] == payment_id]
        if mine:
            return dict(mine[0])
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no dispute arrived for payment {payment_id}")


async def _show_webhooks(base_url: str, shop_key: str) -> None:
    """Waits for Stripe's events about the purchase to arrive and be applied, and shows them."""
    shop = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {shop_key}"})
    async with shop:
        events: list[dict[str, Any]] = []
        for _ in range(300):
            events = (await shop.get("/api/webhooks/events")).json()["data"]
            if any(
                e["type"] == "payment_intent.succeeded" and e["status"] == "processed"
                for e in events
            ):
                break
            await asyncio.sleep(0.1)
    _say("5. Meanwhile Stripe's webhooks arrived, signed; paydesk stored each, answered 200,")
    _say("   then its worker applied them (verify had done that work already: no change):")
    for event in reversed(events):
        _say(f"     {event['id']}  {event['type']:<30} {event['status']}")
    _say()


async def _register_shop_backend(base_url: str, shop_key: str, backend: ShopBackend) -> None:
    shop = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {shop_key}"})
    async with shop:
        endpoint = await _post(
            shop, "/api/webhook-endpoints", {"url": backend.url, "events": ["*"]}
        )
    backend.secret = endpoint["secret"]
    _say(f"0. The shop registers its backend for paydesk's webhooks: {backend.url}")
    _say("   (signed per Standard Webhooks with a secret shown once).\n")


async def _show_notifications(mailbox: MailSink, backend: ShopBackend) -> None:
    """Waits for the receipt and the shop's webhooks, and shows them."""
    for _ in range(100):
        subjects = [message["Subject"] or "" for _, message in mailbox.messages]
        heard = {kind for kind, _ in backend.received}
        last_news = {"dispute.closed", "payment.fraud_warning", "payment.refunded"} <= heard
        # One receipt for each order paid above: four by card, one by debit, one by iDEAL.
        if sum("receipt" in subject.lower() for subject in subjects) >= 6 and last_news:
            break
        await asyncio.sleep(0.1)
    _say("12. paydesk told people, once each (an outbox written with each change):")
    for path, message in mailbox.messages:
        _say(f"    e-mail to {message['To']}: {message['Subject']}   ({path})")
    verified = sum(1 for _, ok in backend.received if ok)
    kinds = ", ".join(sorted({kind for kind, _ in backend.received}))
    _say(f"    the shop's backend got {len(backend.received)} webhooks, {verified} with a valid")
    _say(f"    signature: {kinds}")
    receipt = next(
        (m for _, m in mailbox.messages if "receipt" in (m["Subject"] or "").lower()), None
    )
    if receipt is not None:
        body = receipt.get_body(preferencelist=("plain",))
        _say("    The receipt, as the customer reads it:")
        for line in (body.get_content() if body is not None else "").strip().splitlines():
            _say(f"      | {line}")
    _say()


async def _payouts(base_url: str, sandbox: SandboxServer, shop_key: str) -> None:
    """The balance paid out to the shop's bank: every payout Stripe made during the demo
    (the clock moved on for the SEPA debit may have made one already), what each paid out,
    and Stripe's fees, all as paydesk recorded them."""
    shop = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {shop_key}"})
    stripe_api = httpx.AsyncClient(base_url=sandbox.url, auth=(SANDBOX_SECRET_KEY, ""))
    async with shop, stripe_api:
        _say("13. Stripe pays the balance out to the shop's bank. The sandbox's clock moves")
        _say("    three days on (`paydesk sandbox-clock 3d`): the money of the iDEAL payment,")
        _say("    the changed cart and the warned payment (less its refund) becomes available,")
        _say("    and Stripe pays out all that is available and not paid out yet; a day later")
        _say("    (`paydesk sandbox-clock 1d`) the bank has it. Each payout of the demo, as")
        _say("    paydesk recorded it from Stripe's webhooks, with what it paid out:")
        sandbox.advance_clock(3 * 86400)
        sandbox.advance_clock(86400)
        answer = await stripe_api.get("/v1/payouts", params={"limit": 100})
        answer.raise_for_status()
        made = {p["id"]: p["status"] for p in answer.json()["data"]}
        if not made:
            _say("    Stripe made no payout: the balance had nothing to pay out.\n")
            return
        payouts = await _wait_for_payouts(shop, made)
        if payouts is None:
            _say(f"    paydesk had not recorded and read Stripe's payouts {', '.join(made)}")
            _say(f"    within {PAYOUT_WAIT_SECONDS:.0f} s; `paydesk payouts sync` reads them.\n")
            return
        for payout in reversed(payouts):
            detail = (await shop.get(f"/api/payouts/{payout['id']}")).json()
            _show_payout(detail)
        ledger = (await shop.get("/api/ledger", params={"limit": 1})).json()
        fees = ", ".join(total["fee_display"] for total in ledger["settlement"])
        _say(f"    Stripe's fees in all: {fees} (each payment's, and the lost dispute's).")
        _say("    What a payout paid out, as CSV whose net column sums to the deposit:")
        _say(f"    curl -H 'Accept: text/csv' -H 'Authorization: Bearer {shop_key}' \\")
        _say(f"      {base_url}/api/payouts/{payouts[0]['id']}")
        _say(f"    and on the dashboard: {base_url}/dashboard/payouts")
    _say()


async def _wait_for_payouts(
    shop: httpx.AsyncClient, made: dict[str, str]
) -> list[dict[str, Any]] | None:
    """paydesk's payouts, newest first, once it has every payout in `made` (Stripe's, by id,
    with their status) in that status and reconciled; None if that takes too long."""
    deadline = asyncio.get_running_loop().time() + PAYOUT_WAIT_SECONDS
    while True:
        payouts: list[dict[str, Any]] = (
            await shop.get("/api/payouts", params={"limit": 100})
        ).json()["data"]
        known = {p["id"]: p for p in payouts if p["reconciled"]}
        if all(po in known and known[po]["status"] == status for po, status in made.items()):
            return payouts
        if asyncio.get_running_loop().time() > deadline:
            return None
        await asyncio.sleep(0.2)


def _show_payout(payout: dict[str, Any]) -> None:
    """One payout: what the bank gets and when, then each transaction it paid out."""
    currency = payout["currency"]
    _say(f"    payout {payout['id']}: {payout['amount_display']}, arrival date "
         f"{payout['arrival_date'][:10]}, {payout['status_text']}")  # fmt: skip
    _say(f"      {'type':<11} {'order':<32} {'gross':>11} {'fee':>10} {'net':>11}  rate")
    for txn in payout["transactions"]:
        gross = format_amount(txn["gross"], txn["currency"])
        fee = format_amount(txn["fee"], txn["currency"])
        _say(f"      {txn['type']:<11} {txn['order_id'] or '-':<32} {gross:>11} {fee:>10} "
             f"{txn['net_display']:>11}  {txn['exchange_rate'] or '-'}")  # fmt: skip
    count = len(payout["transactions"])
    net = sum(txn["net"] for txn in payout["transactions"])
    sign = "=" if net == payout["amount"] else "≠"
    _say(f"      net of {count} transaction{'' if count == 1 else 's'}: "
         f"{format_amount(net, currency)} {sign} payout {payout['amount_display']}")  # fmt: skip


async def _checkout_link(base_url: str, shop_key: str) -> None:
    shop = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {shop_key}"})
    async with shop:
        order = await _post(shop, "/api/orders", {
            "items": ITEMS, "currency": "usd", "customer_email": "you@example.com",
        })  # fmt: skip
        euro = await _post(shop, "/api/orders", {
            "items": ITEMS, "currency": "eur", "customer_email": "you@example.com",
        })  # fmt: skip
    _say("14. Pay for a fresh order in your browser (try 4242 4242 4242 4242, then")
    _say("    4000 0000 0000 0002, or 4000 0025 0000 3155 for 3-D Secure):")
    _say(f"    {base_url}/checkout/{order['id']}?token={order['checkout_token']}")
    _say("    or one in euros, by card, SEPA Direct Debit (IBAN DE89 3704 0044 0532 0130 00")
    _say("    settles, AT86 1904 3002 3547 3202 fails; `paydesk sandbox-clock 1m` lets the")
    _say("    bank answer), iDEAL or Bancontact (authorize or fail at the bank's page):")
    _say(f"    {base_url}/checkout/{euro['id']}?token={euro['checkout_token']}")
    _say()


def _dashboard(base_url: str, password: str) -> None:
    _say("15. Everything above, as an operator sees it: today's payments, each one's story,")
    _say("    refunds with a click, the webhook inbox, the payouts. Sign in at")
    _say(f"    {base_url}/dashboard")
    _say(f"    as {DEMO_OPERATOR} with the password {password}")
    _say()


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def walkthrough(base_url: str, sandbox_url: str, shop_key: str) -> str:
    """Commands a newcomer can paste into another terminal, in order."""
    return f"""== Now you: paste these into another terminal ==

export PAYDESK={base_url} SANDBOX={sandbox_url}
export SHOP_KEY={shop_key}
pick() {{ python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }}

# 1. The shop creates an order (the total is computed by paydesk):
ORDER_JSON=$(curl -s $PAYDESK/api/orders -H "Authorization: Bearer $SHOP_KEY" \\
  -H 'Content-Type: application/json' \\
  -d '{{"items": [{{"sku": "TEE", "name": "T-shirt", "unit_amount": 1999, "quantity": 2}}],
       "currency": "usd", "customer_email": "you@example.com"}}')
echo "$ORDER_JSON"
ORDER=$(echo "$ORDER_JSON" | pick id); TOKEN=$(echo "$ORDER_JSON" | pick checkout_token)

# 2. The browser turns a card into a PaymentMethod at the sandbox (as Stripe.js would);
#    4000 0000 0000 0002 is declined: paydesk answers 402 with Stripe's decline code.
card() {{ curl -s $SANDBOX/v1/payment_methods -u {SANDBOX_SECRET_KEY}: -d type=card \\
  -d "card[number]=$1" -d 'card[exp_month]=12' -d 'card[exp_year]=2034' -d 'card[cvc]=123' \\
  | pick id; }}
curl -s $PAYDESK/api/payments -H "Authorization: Bearer $TOKEN" \\
  -H 'Content-Type: application/json' \\
  -d "{{\\"order_id\\": \\"$ORDER\\", \\"payment_method\\": \\"$(card 4000000000000002)\\"}}"
echo

# 3. Pay with 4242 4242 4242 4242: the payment succeeds.
PAYMENT_JSON=$(curl -s $PAYDESK/api/payments -H "Authorization: Bearer $TOKEN" \\
  -H 'Content-Type: application/json' \\
  -d "{{\\"order_id\\": \\"$ORDER\\", \\"payment_method\\": \\"$(card 4242424242424242)\\"}}")
echo "$PAYMENT_JSON"
PAYMENT=$(echo "$PAYMENT_JSON" | pick id)

# 4. Verify after the redirect (paydesk asks Stripe), then see the order paid:
curl -s $PAYDESK/api/payments/verify -H "Authorization: Bearer $TOKEN" \\
  -H 'Content-Type: application/json' -d "{{\\"payment_id\\": \\"$PAYMENT\\"}}" | pick status
curl -s $PAYDESK/api/orders/$ORDER -H "Authorization: Bearer $TOKEN" | pick status

# 5. The shop lists its payments, with their timelines:
curl -s "$PAYDESK/api/payments?limit=5" -H "Authorization: Bearer $SHOP_KEY"
echo

# 6. Stripe's webhooks for all this, as paydesk received and applied them:
curl -s "$PAYDESK/api/webhooks/events?limit=8" -H "Authorization: Bearer $SHOP_KEY"
echo

# 7. Refund part of the payment, then read its ledger, and the whole ledger as CSV:
curl -s $PAYDESK/api/payments/$PAYMENT/refunds -H "Authorization: Bearer $SHOP_KEY" \\
  -H 'Content-Type: application/json' -d '{{"amount": 1000, "reason": "requested_by_customer"}}'
echo
curl -s $PAYDESK/api/payments/$PAYMENT/ledger -H "Authorization: Bearer $SHOP_KEY"
echo
curl -s $PAYDESK/api/ledger -H "Authorization: Bearer $SHOP_KEY" -H 'Accept: text/csv'

# 8. The payouts to the shop's bank (reconciled: what each paid out adds up to it), and
#    the balance Stripe holds for the shop, available and pending:
curl -s "$PAYDESK/api/payouts?limit=5" -H "Authorization: Bearer $SHOP_KEY"
echo
curl -s $PAYDESK/api/balance -H "Authorization: Bearer $SHOP_KEY"
echo
{WALKTHROUGH_END}
"""
