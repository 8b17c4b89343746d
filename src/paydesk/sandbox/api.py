"""Turning a plain handler into a Stripe API endpoint: keys, forms, chaos, idempotency."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from paydesk.sandbox.auth import ApiKey, authenticate
from paydesk.sandbox.chaos import Chaos, ChaosMode, ChaosTicket
from paydesk.sandbox.config import SandboxConfig
from paydesk.sandbox.errors import ApiError, StripeError, StripeObject
from paydesk.sandbox.events import RequestContext
from paydesk.sandbox.expansion import expand
from paydesk.sandbox.forms import Params, decode_form
from paydesk.sandbox.idempotency import (
    KeyedLocks,
    check_key,
    fingerprint,
    should_store,
    stored_response,
)
from paydesk.sandbox.jsonbytes import kept_bytes
from paydesk.sandbox.params import str_list
from paydesk.sandbox.store import IdempotentResponse, SandboxStore


@dataclass(frozen=True, slots=True)
class ApiCall:
    """What a handler gets: decoded parameters, path ids, the key and the request's context."""

    params: Params
    path: dict[str, str]
    key: ApiKey
    context: RequestContext


Handler = Callable[[ApiCall], StripeObject]


class SimulatedDisconnectError(Exception):
    """Raised after a response has started so the server drops the connection."""


class DisconnectResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")],
            }
        )
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise SimulatedDisconnectError("chaos: connection dropped on purpose")


class StripeApi:
    """Shared by every /v1 endpoint of one app; locks are rebuilt for each server run."""

    def __init__(self, store: SandboxStore, config: SandboxConfig, chaos: Chaos) -> None:
        self.store = store
        self.config = config
        self.chaos = chaos
        self.locks = KeyedLocks()

    def endpoint(
        self, handler: Handler, *, allow_publishable: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            return await self._serve(request, handler, allow_publishable)

        return run

    async def _serve(self, request: Request, handler: Handler, allow_publishable: bool) -> Response:
        request_id: str = request.state.request_id
        headers = {"Stripe-Version": request.headers.get("stripe-version", self.config.api_version)}
        try:
            key = authenticate(
                request.headers.get("authorization"), allow_publishable=allow_publishable
            )
            params = await _params(request)
            ticket = self.chaos.take()
            if ticket is not None and ticket.mode is ChaosMode.ERROR_500:
                raise ApiError(
                    "An unknown error occurred while processing your request (injected by "
                    "the sandbox's chaos control).",
                    headers={"Stripe-Should-Retry": "false"},
                )
            if ticket is not None and ticket.mode is ChaosMode.DISCONNECT:
                return DisconnectResponse()
            idempotency_key = (
                request.headers.get("idempotency-key") if request.method == "POST" else None
            )
            context = RequestContext(
                request_id,
                idempotency_key,
                _base_url(request),
                request.client.host if request.client else None,
                request.headers.get("user-agent"),
            )
            call = ApiCall(params, dict(request.path_params), key, context)
            response = await self._answer_in_turn(request, handler, call, headers, ticket)
        except StripeError as error:
            headers.update(error.headers)
            return _json(error.status, error.body(request_id), headers)
        if ticket is not None and ticket.mode is ChaosMode.DISCONNECT_AFTER:
            return DisconnectResponse()
        return response

    async def _answer_in_turn(
        self,
        request: Request,
        handler: Handler,
        call: ApiCall,
        headers: dict[str, str],
        ticket: ChaosTicket | None,
    ) -> Response:
        """Requests sharing an idempotency key run one at a time; later ones replay the first."""
        idempotency_key = call.context.idempotency_key
        if idempotency_key is None:
            await _stall(ticket)
            return self._answer(handler, call, headers)
        check_key(idempotency_key)
        headers["Idempotency-Key"] = idempotency_key
        scope = (call.key.value, idempotency_key)
        async with self.locks.hold(scope):
            await _stall(ticket)
            return self._answer_once(request, handler, call, headers, scope)

    def _answer(self, handler: Handler, call: ApiCall, headers: dict[str, str]) -> Response:
        try:
            obj = handler(call)
        except StripeError as error:
            headers.update(error.headers)
            return _json(error.status, error.body(call.context.request_id or ""), headers)
        paths = str_list(call.params, "expand")
        if paths:
            obj = expand(self.store, obj, paths)
        return _json(200, obj, headers)

    def _answer_once(
        self,
        request: Request,
        handler: Handler,
        call: ApiCall,
        headers: dict[str, str],
        scope: tuple[str, str],
    ) -> Response:
        params = fingerprint(call.params)
        path = request.url.path
        stored = stored_response(self.store, scope, request.method, path, params)
        if stored is not None:
            headers["Idempotent-Replayed"] = "true"
            headers["Original-Request"] = stored.request_id
            return Response(stored.body, stored.status, headers, "application/json")
        response = self._answer(handler, call, headers)
        if should_store(response.status_code):
            self.store.idempotent_responses[scope] = IdempotentResponse(
                request.method,
                path,
                params,
                response.status_code,
                kept_bytes(response.body),
                call.context.request_id or "",
            )
        return response


async def _stall(ticket: ChaosTicket | None) -> None:
    """A planned timeout: answer, but only after the client has likely given up."""
    if ticket is not None and ticket.mode is ChaosMode.TIMEOUT:
        await asyncio.sleep(ticket.timeout_seconds)


async def _params(request: Request) -> Params:
    if request.method == "POST":
        body = (await request.body()).decode("utf-8", errors="replace")
        if body:
            return decode_form(body)
    return decode_form(request.url.query)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _json(status: int, body: StripeObject, headers: dict[str, str]) -> Response:
    return Response(orjson.dumps(body), status, headers, "application/json")
