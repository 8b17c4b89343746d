"""The only module that imports the official Stripe SDK.

One `StripeClient` per process, built by the app factory with the aiohttp HTTP client and
the configured base address (Stripe, or the offline sandbox). The SDK retries connection
errors, 409s and whatever Stripe marks `Stripe-Should-Retry: true`, at most
`max_network_retries` times, reusing the idempotency key, so a retry never charges twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import aiohttp
import stripe
from stripe import SignatureVerificationError, WebhookSignature

from paydesk.errors import (
    CardDeclined,
    Conflict,
    PaydeskError,
    PaymentProviderMisconfigured,
    PaymentProviderUnavailable,
)
from paydesk.gateway.base import EventPage, IntentDeclined, MandateAcceptance, Page, refusal
from paydesk.gateway.types import (
    BalanceTransactionSnapshot,
    DisputeSnapshot,
    IntentSnapshot,
    PayoutSnapshot,
    RefundSnapshot,
)

log = logging.getLogger(__name__)


class _AIOHTTPClient(stripe.AIOHTTPClient):
    """The SDK's aiohttp client, except that a connection lost while the answer is being
    read is a connection error (retried, then reported as unreachable) like one lost
    before it, instead of escaping as a raw aiohttp exception."""

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        content, status, response_headers = await self.request_stream_async(
            method, url, headers, post_data=post_data
        )
        try:
            body: bytes = await content.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._handle_request_error(exc)
        return body, status, response_headers


class StripeGateway:
    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        max_network_retries: int = 2,
        timeout_seconds: float = 20.0,
    ) -> None:
        self._http = _AIOHTTPClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    async def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        capture_method: str,
        metadata: dict[str, str],
        description: str,
        idempotency_key: str,
        payment_method_types: Sequence[str] | None = None,
        payment_method: str | None = None,
        return_url: str | None = None,
        mandate: MandateAcceptance | None = None,
    ) -> IntentSnapshot:
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency,
            "capture_method": capture_method,
            "metadata": metadata,
            "description": description,
            "expand": _EXPAND,
        }
        if payment_method_types is not None:
            params["payment_method_types"] = list(payment_method_types)
        else:
            # Stripe offers what the account enables for the currency. A payment confirmed
            # here without a page to come back to can take no method that redirects.
            automatic: dict[str, Any] = {"enabled": True}
            if payment_method is not None and not return_url:
                automatic["allow_redirects"] = "never"
            params["automatic_payment_methods"] = automatic
        if payment_method is not None:
            params.update(_confirmation(payment_method, return_url, mandate), confirm=True)
        answer = await self._call(
            "post", "/v1/payment_intents", params, idempotency_key, _CONFIRMATION_PARAMS
        )
        return IntentSnapshot.from_stripe(answer)

    async def confirm_payment_intent(
        self,
        intent_id: str,
        *,
        payment_method: str,
        return_url: str | None,
        idempotency_key: str,
        mandate: MandateAcceptance | None = None,
    ) -> IntentSnapshot:
        answer = await self._call(
            "post",
            f"/v1/payment_intents/{quote(intent_id)}/confirm",
            {**_confirmation(payment_method, return_url, mandate), "expand": _EXPAND},
            idempotency_key,
            _CONFIRMATION_PARAMS,
        )
        return IntentSnapshot.from_stripe(answer)

    async def retrieve_payment_intent(self, intent_id: str) -> IntentSnapshot:
        answer = await self._call(
            "get", f"/v1/payment_intents/{quote(intent_id)}", {"expand": _EXPAND}
        )
        return IntentSnapshot.from_stripe(answer)

    async def update_payment_intent(
        self, intent_id: str, *, amount: int, metadata: dict[str, str], idempotency_key: str
    ) -> IntentSnapshot:
        answer = await self._call(
            "post",
            f"/v1/payment_intents/{quote(intent_id)}",
            {"amount": amount, "metadata": metadata, "expand": _EXPAND},
            idempotency_key,
        )
        return IntentSnapshot.from_stripe(answer)

    async def capture_payment_intent(
        self, intent_id: str, *, amount: int | None, idempotency_key: str
    ) -> IntentSnapshot:
        params: dict[str, Any] = {"expand": _EXPAND}
        if amount is not None:
            params["amount_to_capture"] = amount
        answer = await self._call(
            "post",
            f"/v1/payment_intents/{quote(intent_id)}/capture",
            params,
            idempotency_key,
            {"amount_to_capture": "amount"},
        )
        return IntentSnapshot.from_stripe(answer)

    async def cancel_payment_intent(
        self, intent_id: str, *, reason: str | None, idempotency_key: str
    ) -> IntentSnapshot:
        params = {} if reason is None else {"cancellation_reason": reason}
        answer = await self._call(
            "post", f"/v1/payment_intents/{quote(intent_id)}/cancel", params, idempotency_key
        )
        return IntentSnapshot.from_stripe(answer)

    async def create_refund(
        self,
        intent_id: str,
        *,
        amount: int,
        reason: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> RefundSnapshot:
        params: dict[str, Any] = {
            "payment_intent": intent_id,
            "amount": amount,
            "metadata": metadata,
        }
        if reason is not None:
            params["reason"] = reason
        answer = await self._call(
            "post", "/v1/refunds", params, idempotency_key, {"amount": "amount", "reason": "reason"}
        )
        return RefundSnapshot.from_stripe(answer)

    async def list_refunds(self, intent_id: str) -> list[RefundSnapshot]:
        page = await self._call("get", "/v1/refunds", {"payment_intent": intent_id, "limit": 100})
        return [RefundSnapshot.from_stripe(refund) for refund in page["data"]]

    async def retrieve_refund(self, refund_id: str) -> RefundSnapshot:
        answer = await self._call(
            "get", f"/v1/refunds/{quote(refund_id)}", {"expand": ["balance_transaction"]}
        )
        # Only a failed refund has `failure_balance_transaction`: read it when it is there.
        failure = answer.get("failure_balance_transaction")
        if isinstance(failure, str):
            answer["failure_balance_transaction"] = await self._call(
                "get", f"/v1/balance_transactions/{quote(failure)}", {}
            )
        return RefundSnapshot.from_stripe(answer)

    async def retrieve_dispute(self, dispute_id: str) -> DisputeSnapshot:
        answer = await self._call("get", f"/v1/disputes/{quote(dispute_id)}", {})
        return DisputeSnapshot.from_stripe(answer)

    async def update_dispute(
        self,
        dispute_id: str,
        *,
        evidence: dict[str, str],
        submit: bool,
        idempotency_key: str,
    ) -> DisputeSnapshot:
        answer = await self._call(
            "post",
            f"/v1/disputes/{quote(dispute_id)}",
            {"evidence": evidence, "submit": submit},
            idempotency_key,
            {f"evidence[{name}]": name for name in evidence},
        )
        return DisputeSnapshot.from_stripe(answer)

    async def retrieve_balance_transaction(self, txn_id: str) -> BalanceTransactionSnapshot:
        answer = await self._call(
            "get", f"/v1/balance_transactions/{quote(txn_id)}", {"expand": ["source"]}
        )
        return BalanceTransactionSnapshot.from_stripe(answer)

    async def list_balance_transactions(
        self, *, payout: str, starting_after: str | None = None, limit: int = 100
    ) -> Page[BalanceTransactionSnapshot]:
        params: dict[str, Any] = {"payout": payout, "limit": limit, "expand": ["data.source"]}
        if starting_after:
            params["starting_after"] = starting_after
        page = await self._call("get", "/v1/balance_transactions", params)
        return Page(
            [BalanceTransactionSnapshot.from_stripe(txn) for txn in page["data"]],
            bool(page["has_more"]),
        )

    async def retrieve_payout(self, payout_id: str) -> PayoutSnapshot:
        answer = await self._call("get", f"/v1/payouts/{quote(payout_id)}", {})
        return PayoutSnapshot.from_stripe(answer)

    async def list_payouts(
        self,
        *,
        starting_after: str | None = None,
        created_gte: int | None = None,
        limit: int = 100,
    ) -> Page[PayoutSnapshot]:
        params: dict[str, Any] = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        if created_gte is not None:
            params["created"] = {"gte": created_gte}
        page = await self._call("get", "/v1/payouts", params)
        return Page([PayoutSnapshot.from_stripe(p) for p in page["data"]], bool(page["has_more"]))

    async def list_events(
        self,
        *,
        limit: int = 100,
        ending_before: str | None = None,
        starting_after: str | None = None,
        created_gte: int | None = None,
    ) -> EventPage:
        params: dict[str, Any] = {"limit": limit}
        if ending_before:
            params["ending_before"] = ending_before
        if starting_after:
            params["starting_after"] = starting_after
        if created_gte is not None:
            params["created"] = {"gte": created_gte}
        page = await self._call("get", "/v1/events", params)
        return EventPage(list(page["data"]), bool(page["has_more"]))

    async def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        idempotency_key: str | None = None,
        caller_params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Stripe's answer as the JSON it sent, parsed once: the SDK's requestor (its
        retries, its errors) without the StripeObjects it would build and paydesk would only
        turn back into dictionaries."""
        options = {} if idempotency_key is None else {"idempotency_key": idempotency_key}
        with _translated_errors(caller_params):
            response = await self._client.raw_request_async(method, path, **params, **options)
        answer: dict[str, Any] = response.data
        return answer

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


# Stripe's names for what the caller chose when confirming, and the caller's.
_CONFIRMATION_PARAMS = {
    "payment_method": "payment_method",
    "return_url": "return_url",
    "mandate_data": "mandate_accepted",
    "payment_method_types": "payment_method",
}

# A PaymentIntent comes with its latest charge, which says how it is paid (MethodDetails),
# and the charge with the balance transaction that moved its money (fee, net, settlement).
_EXPAND = ["latest_charge.balance_transaction"]


def _confirmation(
    payment_method: str, return_url: str | None, mandate: MandateAcceptance | None
) -> dict[str, Any]:
    params: dict[str, Any] = {"payment_method": payment_method}
    if return_url:
        params["return_url"] = return_url
    if mandate is not None:
        params["mandate_data"] = {
            "customer_acceptance": {
                "type": "online",
                "online": {"ip_address": mandate.ip_address, "user_agent": mandate.user_agent},
            }
        }
    return params


@contextmanager
def _translated_errors(caller_params: Mapping[str, str] | None = None) -> Iterator[None]:
    """Turns the SDK's exceptions into paydesk's error tree, with nothing secret in them.
    `caller_params` names, for each Stripe parameter the caller chose, the caller's field."""
    try:
        yield
    except stripe.StripeError as exc:
        raise _translate(exc, caller_params or {}) from None


def _translate(exc: stripe.StripeError, caller_params: Mapping[str, str]) -> PaydeskError:
    error: dict[str, Any] = {}
    if isinstance(exc.json_body, dict):
        error = exc.json_body.get("error") or {}
    request_id = exc.request_id
    if isinstance(exc, stripe.CardError):
        message = error.get("message") or "Your card was declined."
        code = error.get("code") or "card_declined"
        intent = error.get("payment_intent")
        if intent:
            return IntentDeclined(
                message,
                intent=IntentSnapshot.from_stripe(intent),
                code=code,
                decline_code=error.get("decline_code"),
            )
        return CardDeclined(message, code=code, decline_code=error.get("decline_code"))
    if isinstance(exc, stripe.APIConnectionError):
        log.warning("stripe unreachable: %s", type(exc).__name__)
        return PaymentProviderUnavailable(
            "Stripe could not be reached; nothing was charged twice, retry the request."
        )
    if isinstance(exc, stripe.IdempotencyError):
        # paydesk derives its keys from its own ids; a clash means two requests raced (or
        # two cards for one payment that Stripe has not answered paydesk for yet).
        log.warning("stripe idempotency conflict (request %s)", request_id)
        return Conflict(
            "Stripe is still answering an earlier attempt to do this (perhaps with another "
            "card); retry shortly.",
            code="stripe_request_in_progress",
        )
    if isinstance(exc, stripe.InvalidRequestError):
        refused = refusal(
            str(error.get("message") or exc.user_message or "invalid request"),
            code=error.get("code"),
            param=caller_params.get(str(error.get("param") or "")),
        )
        log.info("stripe refused a request (request %s): %s", request_id, refused.code)
        return refused
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        log.error("stripe rejected paydesk's API key (request %s)", request_id)
        return PaymentProviderMisconfigured(
            "Stripe rejected paydesk's API key; the operator must fix STRIPE_SECRET_KEY."
        )
    if isinstance(exc, stripe.RateLimitError):
        return PaymentProviderUnavailable(
            "Stripe is rate limiting requests; retry shortly.", code="stripe_rate_limited"
        )
    log.warning("stripe error %s (request %s)", exc.http_status, request_id)
    return PaymentProviderUnavailable(
        "Stripe answered with an error; nothing was charged twice, retry the request.",
        code="stripe_api_error",
        stripe_request_id=request_id,
    )


class InvalidSignature(Exception):
    """A webhook whose `Stripe-Signature` does not prove it came from Stripe, now."""


def verify_webhook_signature(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> None:
    """Checks the signature with the SDK against every configured secret (several while
    rotating), and the timestamp within `tolerance` seconds on both sides: the SDK checks
    only the past, and a timestamp far in the future is as suspect as a stale one."""
    if not secrets:
        raise InvalidSignature("no webhook signing secret is configured")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSignature("the body is not UTF-8") from None
    failure = "no secret matched"
    for secret in secrets:
        try:
            WebhookSignature.verify_header(text, header, secret, tolerance)
        except SignatureVerificationError as exc:
            failure = str(exc.user_message or "signature mismatch")
            continue
        assert header is not None
        timestamp = int(next(p[2:] for p in header.split(",") if p.startswith("t=")))
        if timestamp > (time.time() if now is None else now) + tolerance:
            raise InvalidSignature("the timestamp is too far in the future")
        return
    raise InvalidSignature(failure)
