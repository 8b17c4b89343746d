"""The sandbox's ASGI app: Stripe's routes, the /_sandbox controls, request ids."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Message, Receive, Scope, Send

from paydesk.sandbox.api import ApiCall, Handler, StripeApi
from paydesk.sandbox.balance import Balance
from paydesk.sandbox.chaos import Chaos, WebhookChaos, WebhookMix
from paydesk.sandbox.charges import list_charges, retrieve_charge
from paydesk.sandbox.config import SandboxConfig
from paydesk.sandbox.control import ControlEndpoints
from paydesk.sandbox.delivery import WebhookDelivery
from paydesk.sandbox.disputes import Disputes
from paydesk.sandbox.errors import InvalidRequestError, ResourceMissingError, StripeObject
from paydesk.sandbox.events import EventLog, event_filter
from paydesk.sandbox.fraud_warnings import EarlyFraudWarnings
from paydesk.sandbox.idempotency import KeyedLocks
from paydesk.sandbox.ids import new_request_id
from paydesk.sandbox.latency import StripeLatency
from paydesk.sandbox.listing import LIST_PARAMS, paginate
from paydesk.sandbox.mandates import retrieve_mandate
from paydesk.sandbox.params import optional_str, reject_unknown
from paydesk.sandbox.payment_intents import PaymentIntents
from paydesk.sandbox.payment_methods import create_payment_method, retrieve_payment_method
from paydesk.sandbox.payouts import Payouts
from paydesk.sandbox.redirects import BankRedirects
from paydesk.sandbox.refunds import Refunds
from paydesk.sandbox.sepa_debits import SepaDebits
from paydesk.sandbox.store import SandboxStore
from paydesk.sandbox.timers import Scheduler
from paydesk.sandbox.webhook_endpoints import (
    create_endpoint,
    delete_endpoint,
    list_endpoints,
    register_endpoint,
    retrieve_endpoint,
    update_endpoint,
)

EVENT_LIST_PARAMS = LIST_PARAMS | {"type", "types", "created", "delivery_success"}
_CORS_ORIGIN = (b"access-control-allow-origin", b"*")
_CORS_PREFLIGHT = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, DELETE",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key, Stripe-Version",
    "Access-Control-Max-Age": "600",
}


class SandboxApp:
    """The sandbox as an ASGI app: Starlette's router, a `Request-Id` on every answer.

    No middleware stack beyond that: the benchmark drives every payment through here.
    With `config.latency_ms` every /v1 call (preflights aside) first sleeps here, before
    routing and outside every lock, so calls wait concurrently (see latency.py).
    """

    def __init__(
        self,
        router: Router,
        *,
        store: SandboxStore,
        config: SandboxConfig,
        chaos: Chaos,
        webhook_chaos: WebhookChaos,
        scheduler: Scheduler,
        disputes: Disputes,
        payouts: Payouts,
    ) -> None:
        self.router = router
        self.store = store
        self.config = config
        self.chaos = chaos
        self.webhook_chaos = webhook_chaos
        self.scheduler = scheduler
        self.disputes = disputes
        self.payouts = payouts
        self.latency = StripeLatency(config.latency_ms, config.latency_jitter_ms)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.router(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        # With "app" in the scope, a wrong method raises HTTPException instead of answering.
        scope["app"] = self
        header = (b"request-id", request_id.encode())
        # Like api.stripe.com, any origin may call /v1 (Stripe.js does, with a pk_ key).
        stripe_api = scope["path"].startswith("/v1/")
        if stripe_api and scope["method"] == "OPTIONS":
            await Response(status_code=204, headers=_CORS_PREFLIGHT)(scope, receive, send)
            return
        if stripe_api:
            await self.latency.wait()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [header, _CORS_ORIGIN] if stripe_api else [header]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.router(scope, receive, send_with_id)
        except HTTPException:
            await _unrecognized_url(Request(scope, receive))(scope, receive, send_with_id)


def create_sandbox_app(
    config: SandboxConfig | None = None,
    store: SandboxStore | None = None,
    chaos: Chaos | None = None,
    webhook_chaos: WebhookChaos | None = None,
) -> SandboxApp:
    """Build the sandbox; pass the same `store` again to keep state across restarts."""
    config = config or SandboxConfig()
    store = store if store is not None else SandboxStore()
    chaos = chaos if chaos is not None else Chaos()
    webhook_chaos = webhook_chaos if webhook_chaos is not None else WebhookChaos()
    registered = {endpoint["url"] for endpoint in store.webhook_endpoints.newest_first()}
    for endpoint in config.webhook_endpoints:
        if endpoint.url not in registered:
            register_endpoint(store, endpoint)
    mix = WebhookMix(
        drop_rate=config.webhook_drop_rate,
        duplicate_rate=config.webhook_duplicate_rate,
        shuffle_window_seconds=config.webhook_shuffle_window_seconds,
        delay_seconds=config.webhook_delay_seconds,
        seed=config.webhook_chaos_seed,
    )
    if mix.active:
        webhook_chaos.set_mix(mix)
    events = EventLog(store, config.api_version)
    scheduler = Scheduler()
    balance = Balance(store, scheduler, config.settlement_currency, events)
    fraud_warnings = EarlyFraudWarnings(store, events)
    disputes = Disputes(
        store, events, scheduler, config.dispute_delay_seconds, balance, fraud_warnings
    )
    sepa_debits = SepaDebits(store, events, scheduler, balance, disputes)
    redirects = BankRedirects(store, events, balance)
    payment_intents = PaymentIntents(
        store,
        events,
        disputes,
        sepa_debits,
        redirects,
        balance,
        scheduler=scheduler,
        fraud_warnings=fraud_warnings,
    )
    refunds = Refunds(
        store, events, scheduler, config.refund_delay_seconds, balance, fraud_warnings
    )
    payouts = Payouts(store, events, scheduler, balance, config.payout_account_number)
    if config.automatic_payouts:
        scheduler.after_advance.append(payouts.pay_out_available)
    api = StripeApi(store, config, chaos)
    control = ControlEndpoints(
        store,
        chaos,
        webhook_chaos,
        payment_intents,
        config.publishable_key,
        disputes,
        scheduler,
        balance,
        payouts,
        fraud_warnings,
    )

    def retrieve_intent(call: ApiCall) -> StripeObject:
        reject_unknown(call.params, frozenset({"client_secret", "expand"}))
        intent = payment_intents.get(call.path["pi_id"])
        if call.key.publishable:
            payment_intents.check_client_secret(intent, optional_str(call.params, "client_secret"))
        return intent

    def confirm_intent(call: ApiCall) -> StripeObject:
        if call.key.publishable:
            intent = payment_intents.get(call.path["pi_id"])
            payment_intents.check_client_secret(intent, optional_str(call.params, "client_secret"))
        return payment_intents.confirm(
            call.path["pi_id"], call.params, call.context, publishable=call.key.publishable
        )

    def list_events(call: ApiCall) -> StripeObject:
        reject_unknown(call.params, EVENT_LIST_PARAMS)
        return paginate(store.events, call.params, "/v1/events", "event", event_filter(call.params))

    def retrieve_event(call: ApiCall) -> StripeObject:
        event = store.events.get(call.path["evt_id"])
        if event is None:
            raise ResourceMissingError("event", call.path["evt_id"])
        return event

    def retrieve_method(call: ApiCall) -> StripeObject:
        return retrieve_payment_method(store, call.path["pm_id"])

    def route(path: str, method: str, handler: Handler, publishable: bool = False) -> Route:
        return Route(path, api.endpoint(handler, allow_publishable=publishable), methods=[method])

    pi = "/v1/payment_intents/{pi_id}"
    dp = "/v1/disputes/{dp_id}"
    we = "/v1/webhook_endpoints/{we_id}"
    efw = "/v1/radar/early_fraud_warnings"
    routes = [
        route("/v1/payment_intents", "POST", lambda c: payment_intents.create(c.params, c.context)),
        route("/v1/payment_intents", "GET", lambda c: payment_intents.list(c.params)),
        route(pi, "GET", retrieve_intent, publishable=True),
        route(pi, "POST", lambda c: payment_intents.update(c.path["pi_id"], c.params, c.context)),
        route(f"{pi}/confirm", "POST", confirm_intent, publishable=True),
        route(
            f"{pi}/capture",
            "POST",
            lambda c: payment_intents.capture(c.path["pi_id"], c.params, c.context),
        ),
        route(
            f"{pi}/cancel",
            "POST",
            lambda c: payment_intents.cancel(c.path["pi_id"], c.params, c.context),
        ),
        route(
            "/v1/payment_methods",
            "POST",
            lambda c: create_payment_method(store, c.params),
            publishable=True,
        ),
        route("/v1/payment_methods/{pm_id}", "GET", retrieve_method),
        route(
            "/v1/mandates/{mandate_id}",
            "GET",
            lambda c: retrieve_mandate(store, c.path["mandate_id"]),
        ),
        route("/v1/charges", "GET", lambda c: list_charges(store, c.params)),
        route("/v1/charges/{ch_id}", "GET", lambda c: retrieve_charge(store, c.path["ch_id"])),
        route("/v1/refunds", "POST", lambda c: refunds.create(c.params, c.context)),
        route("/v1/refunds", "GET", lambda c: refunds.list(c.params)),
        route("/v1/refunds/{re_id}", "GET", lambda c: refunds.retrieve(c.path["re_id"])),
        route(
            "/v1/refunds/{re_id}",
            "POST",
            lambda c: refunds.update(c.path["re_id"], c.params, c.context),
        ),
        route("/v1/balance_transactions", "GET", lambda c: balance.list(c.params)),
        route(
            "/v1/balance_transactions/{txn_id}",
            "GET",
            lambda c: balance.retrieve(c.path["txn_id"]),
        ),
        route("/v1/balance", "GET", lambda c: balance.summary()),
        route("/v1/payouts", "POST", lambda c: payouts.create(c.params, c.context)),
        route("/v1/payouts", "GET", lambda c: payouts.list(c.params)),
        route("/v1/payouts/{po_id}", "GET", lambda c: payouts.retrieve(c.path["po_id"])),
        route("/v1/disputes", "GET", lambda c: disputes.list(c.params)),
        route(dp, "GET", lambda c: disputes.retrieve(c.path["dp_id"])),
        route(dp, "POST", lambda c: disputes.update(c.path["dp_id"], c.params, c.context)),
        route(f"{dp}/close", "POST", lambda c: disputes.accept(c.path["dp_id"], c.context)),
        route(efw, "GET", lambda c: fraud_warnings.list(c.params)),
        route(f"{efw}/{{efw_id}}", "GET", lambda c: fraud_warnings.retrieve(c.path["efw_id"])),
        route("/v1/events", "GET", list_events),
        route("/v1/events/{evt_id}", "GET", retrieve_event),
        route("/v1/webhook_endpoints", "POST", lambda c: create_endpoint(store, c.params)),
        route("/v1/webhook_endpoints", "GET", lambda c: list_endpoints(store, c.params)),
        route(we, "GET", lambda c: retrieve_endpoint(store, c.path["we_id"])),
        route(we, "POST", lambda c: update_endpoint(store, c.path["we_id"], c.params)),
        route(we, "DELETE", lambda c: delete_endpoint(store, c.path["we_id"])),
        Route("/_sandbox/health", control.health, methods=["GET"]),
        Route("/_sandbox/chaos", control.chaos, methods=["POST"]),
        Route("/_sandbox/clock/advance", control.advance_clock, methods=["POST"]),
        Route("/_sandbox/chaos/webhooks", control.webhook_chaos, methods=["POST"]),
        Route("/_sandbox/chaos/webhooks", control.calm_webhooks, methods=["DELETE"]),
        Route("/_sandbox/charges/{ch_id}/dispute", control.dispute_charge, methods=["POST"]),
        Route(
            "/_sandbox/charges/{ch_id}/early_fraud_warning",
            control.warn_of_fraud,
            methods=["POST"],
        ),
        Route("/_sandbox/disputes/{dp_id}/close", control.close_dispute, methods=["POST"]),
        Route("/_sandbox/payouts/run", control.run_payouts, methods=["POST"]),
        Route("/_sandbox/payouts/{po_id}/fail", control.fail_payout, methods=["POST"]),
        Route(
            "/_sandbox/payment_intents/{pi_id}/authenticate", control.authenticate, methods=["POST"]
        ),
        Route("/_sandbox/3ds/{pi_id}", control.challenge, methods=["GET"]),
        Route("/_sandbox/3ds/{pi_id}", control.answer_challenge, methods=["POST"]),
        Route("/_sandbox/redirect/{pi_id}", control.bank_page, methods=["GET"]),
        Route("/_sandbox/redirect/{pi_id}", control.answer_challenge, methods=["POST"]),
        Route("/_sandbox/mandates/{mandate_id}", control.mandate_page, methods=["GET"]),
    ]

    @asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[None]:
        delivery = WebhookDelivery(store, config, webhook_chaos)
        await delivery.start()
        api.locks = KeyedLocks()
        events.on_recorded = delivery.enqueue
        scheduler.attach(asyncio.get_running_loop())
        try:
            yield
        finally:
            events.on_recorded = None
            scheduler.detach()
            await delivery.stop()

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        await _unrecognized_url(Request(scope, receive))(scope, receive, send)

    router = Router(routes=routes, lifespan=lifespan, default=not_found)
    return SandboxApp(
        router,
        store=store,
        config=config,
        chaos=chaos,
        webhook_chaos=webhook_chaos,
        scheduler=scheduler,
        disputes=disputes,
        payouts=payouts,
    )


def _unrecognized_url(request: Request) -> Response:
    error = InvalidRequestError(
        f"Unrecognized request URL ({request.method}: {request.url.path}). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        status=404,
    )
    return Response(
        orjson.dumps(error.body(request.state.request_id)), 404, media_type="application/json"
    )
