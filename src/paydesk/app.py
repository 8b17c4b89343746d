"""The app factory: settings in, a FastAPI app out, over the services composition.py builds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from paydesk.auth.middleware import Authentication
from paydesk.composition import build
from paydesk.config import Settings
from paydesk.db import Database
from paydesk.disputes.endpoints import router as disputes_router
from paydesk.edge.envelope import HttpEdge
from paydesk.edge.limits import BodyLimit
from paydesk.errors import InvalidRequest, PaydeskError
from paydesk.gateway.base import Gateway
from paydesk.idempotency.middleware import IdempotencyMiddleware
from paydesk.ledger.endpoints import router as ledger_router
from paydesk.logs import configure_logging
from paydesk.notifications.endpoints import router as notifications_router
from paydesk.notifications.webhook_endpoints import router as webhook_endpoints_router
from paydesk.openapi import install_openapi
from paydesk.orders.endpoints import router as orders_router
from paydesk.payments.endpoints import router as payments_router
from paydesk.payouts.endpoints import router as payouts_router
from paydesk.refunds.endpoints import router as refunds_router
from paydesk.web import dashboard
from paydesk.web.checkout import router as checkout_router
from paydesk.web.docs import install_docs
from paydesk.webhooks.endpoints import router as webhooks_router
from paydesk.webhooks.receiver import StripeWebhookEndpoint
from paydesk.worker.runner import WorkerSchedule

log = logging.getLogger(__name__)

# Fields a client may never choose: paydesk takes them from the order.
_SERVER_SIDE_FIELDS = {"amount", "currency", "status", "amount_received"}


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    gateway: Gateway | None = None,
    worker: WorkerSchedule | None = None,
) -> FastAPI:
    """The API over the services of `settings` (composition.py); with `worker`, also a
    worker in the same process (one on SQLite)."""
    services = build(settings, database=database, gateway=gateway)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        background = []
        checkpointer = services.db.checkpointer()
        if checkpointer is not None:
            background.append(asyncio.create_task(checkpointer.run(stop)))
        notifications = None
        if worker is not None:
            notifications = services.delivery()
            in_process = services.worker(worker, notifications=notifications)
            background.append(asyncio.create_task(in_process.run(stop)))
        yield
        stop.set()
        await asyncio.gather(*background)
        if notifications is not None:
            await notifications.close()
        await services.close()

    app = FastAPI(
        title="paydesk",
        summary="The payment desk of an online shop, on Stripe.",
        version="0.1.0",
        lifespan=lifespan,
        # Served by install_docs from an installed package, not a CDN.
        docs_url=None,
        redoc_url=None,
        # paydesk exports no OpenTelemetry; checking for it costs every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    app.include_router(orders_router)
    app.include_router(payments_router)
    app.include_router(refunds_router)
    app.include_router(ledger_router)
    app.include_router(disputes_router)
    app.include_router(payouts_router)
    app.include_router(webhooks_router)
    app.include_router(webhook_endpoints_router)
    app.include_router(notifications_router)
    app.include_router(checkout_router)
    dashboard.install(app)
    # Added innermost first: a request meets them in the order edge/__init__.py lists.
    app.add_middleware(IdempotencyMiddleware, store=services.idempotency)
    app.add_middleware(BodyLimit)
    app.add_middleware(Authentication, auth=services.auth)
    app.add_middleware(
        StripeWebhookEndpoint,
        inbox=services.inbox,
        secrets=settings.stripe_webhook_secrets,
        livemode=settings.livemode,
        stats=services.webhook_stats,
    )
    app.add_middleware(HttpEdge)
    _install_error_handlers(app)
    install_openapi(app)
    install_docs(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def create_served_app(settings: Settings) -> FastAPI:
    """The app `paydesk serve` runs: with a worker in the same process when the settings
    ask for one (by default on SQLite, which has one writer; on PostgreSQL `paydesk
    worker` processes apply the inbox)."""
    worker = WorkerSchedule() if settings.runs_worker_in_process else None
    return create_app(settings, worker=worker)


def create_served_app_from_env() -> FastAPI:
    """The factory each process of `paydesk serve --workers N` calls once it has started
    (edge/server.py `serve_processes`): the settings from the environment, which the
    command checked before starting it, paydesk's logging, and an app of its own."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_served_app(settings)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PaydeskError)
    async def paydesk_error(_request: Request, exc: PaydeskError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        return error_response(_invalid_request(exc.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        body = {"error": {"type": "invalid_request_error", "code": code, "message": exc.detail}}
        return Response(
            orjson.dumps(body),
            status_code=exc.status_code,
            headers=exc.headers,
            media_type="application/json",
        )


def error_response(error: PaydeskError) -> Response:
    return Response(
        orjson.dumps(error.to_body()),
        status_code=error.status_code,
        headers=error.headers(),
        media_type="application/json",
    )


def _invalid_request(errors: Any) -> InvalidRequest:
    """The first problem, named by its field, as `items[0].unit_amount`."""
    first = errors[0]
    location = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    param = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in location).lstrip(".")
    if first.get("type") == "extra_forbidden" and location and location[-1] in _SERVER_SIDE_FIELDS:
        return InvalidRequest(
            f"`{location[-1]}` is decided by paydesk from the order and cannot be sent.",
            code="server_side_field",
            param=param,
        )
    kind = first.get("type")
    if kind == "json_invalid":
        return InvalidRequest("The request body is not valid JSON.", code="invalid_json")
    if kind == "missing" and not param:
        return InvalidRequest("A JSON body is required.", code="body_missing")
    if kind == "missing":
        return InvalidRequest(f"{param} is required.", code="parameter_missing", param=param)
    message = first.get("msg", "Invalid value")
    return InvalidRequest(
        f"{param}: {message}" if param else message,
        code=_CODES.get(kind, "parameter_invalid"),
        param=param or None,
    )


# Codes more precise than `parameter_invalid`: a control character is refused with the same
# code wherever it is sent (body, path, query); a reserved domain is an address that no mail
# reaches, not a malformed one.
_CODES = {
    "control_character": "invalid_characters",
    "string_unicode": "invalid_characters",
    "email_undeliverable": "email_undeliverable",
}
