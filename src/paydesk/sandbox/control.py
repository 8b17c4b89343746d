"""The sandbox's own endpoints under /_sandbox: health, chaos, the clock, 3-D Secure and bank
page answers, disputes, early fraud warnings, failing payouts, mandate pages."""

from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from paydesk.sandbox.balance import Balance
from paydesk.sandbox.bank_redirects import bank_label
from paydesk.sandbox.chaos import Chaos, ChaosMode, WebhookChaos, WebhookChaosMode, WebhookMix
from paydesk.sandbox.disputes import Disputes
from paydesk.sandbox.errors import InvalidRequestError, StripeError, StripeObject
from paydesk.sandbox.forms import decode_form
from paydesk.sandbox.fraud_warnings import EarlyFraudWarnings
from paydesk.sandbox.pages import bank_page, challenge_page, finished_page, mandate_page
from paydesk.sandbox.payment_intents import PaymentIntents
from paydesk.sandbox.payouts import Payouts
from paydesk.sandbox.store import SandboxStore
from paydesk.sandbox.timers import Scheduler

# A year and a bit: past any delay Stripe's test mode has (disputes, SEPA, payouts).
MAX_ADVANCE_SECONDS = 400 * 24 * 3600


class ControlEndpoints:
    def __init__(
        self,
        store: SandboxStore,
        chaos: Chaos,
        webhook_chaos: WebhookChaos,
        payment_intents: PaymentIntents,
        publishable_key: str,
        disputes: Disputes,
        scheduler: Scheduler,
        balance: Balance,
        payouts: Payouts,
        fraud_warnings: EarlyFraudWarnings,
    ) -> None:
        self._store = store
        self._fraud_warnings = fraud_warnings
        self._balance = balance
        self._payouts = payouts
        self._chaos = chaos
        self._webhook_chaos = webhook_chaos
        self._payment_intents = payment_intents
        self._publishable_key = publishable_key
        self._disputes = disputes
        self._scheduler = scheduler

    async def health(self, request: Request) -> Response:
        mix = self._webhook_chaos.mix
        return _json(
            200,
            {
                "status": "ok",
                "publishable_key": self._publishable_key,
                "payment_intents": len(self._store.payment_intents),
                "events": len(self._store.events),
                "pending_deliveries": len(self._store.pending_deliveries),
                "chaos_remaining": self._chaos.remaining,
                "webhook_chaos_remaining": self._webhook_chaos.remaining,
                "webhook_chaos_mix": mix.as_dict() if mix is not None else None,
                "clock_ahead_seconds": self._scheduler.ahead_seconds,
                "scheduled": self._scheduler.waiting,
            },
        )

    async def advance_clock(self, request: Request) -> Response:
        """`{"seconds": n}`: as if n more seconds had passed for what the sandbox does later
        (pending refunds settling, disputes opening), which happens now."""
        request_id: str = request.state.request_id
        try:
            body = await _json_body(request)
            seconds = body.get("seconds")
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not 0 < seconds <= MAX_ADVANCE_SECONDS
            ):
                raise InvalidRequestError(
                    f"seconds must be a number above 0 and at most {MAX_ADVANCE_SECONDS}.",
                    param="seconds",
                )
        except StripeError as error:
            return _json(error.status, error.body(request_id))
        ran = self._scheduler.advance(float(seconds))
        self._balance.release_due()
        return _json(
            200,
            {
                "advanced_seconds": seconds,
                "ran": ran,
                "scheduled": self._scheduler.waiting,
                "clock_ahead_seconds": self._scheduler.ahead_seconds,
            },
        )

    async def chaos(self, request: Request) -> Response:
        request_id: str = request.state.request_id
        try:
            body = await _json_body(request)
            count = body.get("fail_next_requests", 0)
            mode = body.get("mode", ChaosMode.ERROR_500.value)
            timeout = body.get("timeout_seconds", 30.0)
            if not isinstance(count, int) or count < 0:
                raise InvalidRequestError(
                    "fail_next_requests must be a non-negative integer",
                    param="fail_next_requests",
                )
            if mode not in ChaosMode.__members__.values():
                modes = ", ".join(m.value for m in ChaosMode)
                raise InvalidRequestError(f"mode must be one of {modes}", param="mode")
            if not isinstance(timeout, int | float) or timeout < 0:
                raise InvalidRequestError(
                    "timeout_seconds must be a non-negative number", param="timeout_seconds"
                )
        except StripeError as error:
            return _json(error.status, error.body(request_id))
        self._chaos.arm(count, ChaosMode(mode), float(timeout))
        return _json(200, {"fail_next_requests": count, "mode": mode, "timeout_seconds": timeout})

    async def webhook_chaos(self, request: Request) -> Response:
        """`{"next_deliveries": N, "mode": "duplicate" | "drop" | "delay", "delay_seconds": x}`,
        or a standing mix: `{"drop_rate": p, "duplicate_rate": p, "shuffle_window_seconds": s,
        "delay_seconds": [low, high], "seed": n}` (all zero turns it off)."""
        request_id: str = request.state.request_id
        try:
            body = await _json_body(request)
            if MIX_KEYS & body.keys() or isinstance(body.get("delay_seconds"), list):
                mix = _mix_from(body)
                self._webhook_chaos.set_mix(mix)
                return _json(200, {**mix.as_dict(), "active": mix.active})
            count = body.get("next_deliveries", 0)
            mode = body.get("mode", WebhookChaosMode.DUPLICATE.value)
            delay = body.get("delay_seconds", 1.0)
            if not isinstance(count, int) or count < 0:
                raise InvalidRequestError(
                    "next_deliveries must be a non-negative integer", param="next_deliveries"
                )
            if mode not in WebhookChaosMode.__members__.values():
                modes = ", ".join(m.value for m in WebhookChaosMode)
                raise InvalidRequestError(f"mode must be one of {modes}", param="mode")
            if not isinstance(delay, int | float) or delay < 0:
                raise InvalidRequestError(
                    "delay_seconds must be a non-negative number", param="delay_seconds"
                )
        except StripeError as error:
            return _json(error.status, error.body(request_id))
        self._webhook_chaos.arm(count, WebhookChaosMode(mode), float(delay))
        return _json(200, {"next_deliveries": count, "mode": mode, "delay_seconds": delay})

    async def calm_webhooks(self, request: Request) -> Response:
        """`DELETE /_sandbox/chaos/webhooks`: no more planned or random misdelivery."""
        self._webhook_chaos.disarm()
        return _json(200, {"next_deliveries": 0, "active": False})

    async def dispute_charge(self, request: Request) -> Response:
        """`{"reason": ..., "amount": n, "inquiry": bool}`, all optional: dispute it now."""
        request_id: str = request.state.request_id
        try:
            body = await _json_body(request)
            dispute = self._disputes.open_on_demand(request.path_params["ch_id"], body)
        except StripeError as error:
            return _json(error.status, error.body(request_id))
        return _json(200, dispute)

    async def warn_of_fraud(self, request: Request) -> Response:
        """`{"fraud_type": ...}`, optional: the issuer reports the charge as fraud now; the
        answer is the `radar.early_fraud_warning`."""
        request_id: str = request.state.request_id
        try:
            body = await _json_body(request)
            warning = self._fraud_warnings.raise_on_demand(request.path_params["ch_id"], body)
        except StripeError as error:
            return _json(error.status, error.body(request_id))
        return _json(200, warning)

    async def close_dispute(self, request: Request) -> Response:
        """`{"outcome": "won" | "lost"}`: the card network's verdict."""
        request_id: str = request.state.request_id
        try:
            body = await _json_body(request)
            dispute = self._disputes.settle(request.path_params["dp_id"], body.get("outcome", ""))
        except StripeError as error:
            return _json(error.status, error.body(request_id))
        return _json(200, dispute)

    async def run_payouts(self, _request: Request) -> Response:
        """The automatic payouts of what is available now, made at once: the payouts made."""
        made = self._payouts.pay_out_available()
        return _json(200, {"object": "list", "data": made})

    async def fail_payout(self, request: Request) -> Response:
        """`{"failure_code": "account_closed"}`: the bank returns the payout."""
        request_id: str = request.state.request_id
        try:
            body = await _json_body(request)
            payout = self._payouts.fail(request.path_params["po_id"], body.get("failure_code"))
        except StripeError as error:
            return _json(error.status, error.body(request_id))
        return _json(200, payout)

    async def authenticate(self, request: Request) -> Response:
        """`{"outcome": "succeed" | "fail"}`: answer the 3-D Secure challenge, or the bank page
        of an iDEAL or Bancontact payment, without a browser."""
        request_id: str = request.state.request_id
        try:
            body = await _json_body(request)
            outcome = body.get("outcome")
            if outcome not in ("succeed", "fail"):
                raise InvalidRequestError('outcome must be "succeed" or "fail"', param="outcome")
            intent = self._payment_intents.authenticate(
                request.path_params["pi_id"], outcome == "succeed", None
            )
        except StripeError as error:
            return _json(error.status, error.body(request_id))
        return _json(200, intent)

    async def challenge(self, request: Request) -> Response:
        pi_id: str = request.path_params["pi_id"]
        intent = self._store.payment_intents.get(pi_id)
        if intent is None:
            return HTMLResponse(
                "<!doctype html><title>Not found</title><p>No such payment.</p>", 404
            )
        if intent["status"] != "requires_action":
            return HTMLResponse(finished_page(pi_id, intent["status"]))
        payment_method = self._store.payment_methods.get(intent["payment_method"] or "")
        last4 = payment_method["card"]["last4"] if payment_method else None
        return HTMLResponse(challenge_page(pi_id, intent["amount"], intent["currency"], last4))

    async def bank_page(self, request: Request) -> Response:
        """The bank page an iDEAL or Bancontact `redirect_to_url` next action names."""
        pi_id: str = request.path_params["pi_id"]
        intent = self._store.payment_intents.get(pi_id)
        if intent is None:
            return HTMLResponse(
                "<!doctype html><title>Not found</title><p>No such payment.</p>", 404
            )
        payment_method = self._store.payment_methods.get(intent["payment_method"] or "")
        if intent["status"] != "requires_action" or payment_method is None:
            return HTMLResponse(finished_page(pi_id, intent["status"]))
        bank = bank_label(payment_method["type"], (payment_method.get("ideal") or {}).get("bank"))
        return HTMLResponse(bank_page(pi_id, intent["amount"], intent["currency"], bank))

    async def mandate_page(self, request: Request) -> Response:
        """What a mandate's `url` shows: its reference, the account's last digits, status."""
        mandate = self._store.mandates.get(request.path_params["mandate_id"])
        if mandate is None:
            return HTMLResponse(
                "<!doctype html><title>Not found</title><p>No such mandate.</p>", 404
            )
        payment_method = self._store.payment_methods.get(mandate["payment_method"])
        last4 = payment_method["sepa_debit"]["last4"] if payment_method else None
        reference = mandate["payment_method_details"]["sepa_debit"]["reference"]
        return HTMLResponse(mandate_page(mandate["id"], reference, last4, mandate["status"]))

    async def answer_challenge(self, request: Request) -> Response:
        """The 3-D Secure page's or the bank page's buttons: 303 to the return_url."""
        pi_id: str = request.path_params["pi_id"]
        form = decode_form((await request.body()).decode("utf-8", errors="replace"))
        succeed = form.get("outcome") == "succeed"
        try:
            intent = self._payment_intents.get(pi_id)
            next_action = intent["next_action"] or {}
            return_url = (next_action.get("redirect_to_url") or {}).get("return_url")
            intent = self._payment_intents.authenticate(pi_id, succeed, None)
        except StripeError as error:
            return HTMLResponse(
                f"<!doctype html><title>Error</title><p>{escape(error.message)}</p>", error.status
            )
        if not return_url:
            return HTMLResponse(finished_page(pi_id, intent["status"]))
        query = {
            "payment_intent": pi_id,
            "payment_intent_client_secret": intent["client_secret"],
            "redirect_status": "succeeded" if succeed else "failed",
        }
        return RedirectResponse(_with_query(return_url, query), status_code=303)


MIX_KEYS = frozenset({"drop_rate", "duplicate_rate", "shuffle_window_seconds", "seed"})


def _mix_from(body: StripeObject) -> WebhookMix:
    def number(name: str) -> float:
        value = body.get(name, 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidRequestError(f"{name} must be a number", param=name)
        return float(value)

    delay = body.get("delay_seconds", [0.0, 0.0])
    if isinstance(delay, int | float) and not isinstance(delay, bool):
        delay = [delay, delay]
    if not (
        isinstance(delay, list)
        and len(delay) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in delay)
    ):
        raise InvalidRequestError(
            "delay_seconds must be a number or [low, high]", param="delay_seconds"
        )
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidRequestError("seed must be an integer", param="seed")
    try:
        return WebhookMix(
            drop_rate=number("drop_rate"),
            duplicate_rate=number("duplicate_rate"),
            shuffle_window_seconds=number("shuffle_window_seconds"),
            delay_seconds=(float(delay[0]), float(delay[1])),
            seed=seed,
        )
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from exc


def _with_query(url: str, query: dict[str, str]) -> str:
    parts = urlsplit(url)
    joined = "&".join(filter(None, [parts.query, urlencode(query)]))
    return urlunsplit(parts._replace(query=joined))


async def _json_body(request: Request) -> StripeObject:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"Invalid JSON body: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidRequestError("The JSON body must be an object")
    return body


def _json(status: int, body: StripeObject) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")
