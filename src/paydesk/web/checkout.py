"""The checkout page an order's customer opens with its checkout token, and the result page.

`GET /checkout/{order_id}?token=pd_ct_…` shows the order and a form for each method that can
pay its currency (card; for EUR also SEPA Direct Debit, iDEAL and Bancontact). Card and bank
details go from the browser straight to Stripe (or, offline, to the sandbox speaking Stripe's
API), never to paydesk: paydesk only receives the PaymentMethod id, as with Stripe.js.
`GET /checkout/{order_id}/result?token=…` asks Stripe where the payment stands and says so.
An order left unpaid past its expiry says it has expired, and offers nothing to pay with.
A missing, wrong or other order's token is a plain 404 page that reveals nothing.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from paydesk.db import utcnow
from paydesk.deps import ServicesDep
from paydesk.errors import PaydeskError
from paydesk.money import format_amount
from paydesk.orders.models import PAID_ORDER_STATUSES, Order, OrderStatus
from paydesk.orders.service import has_expired
from paydesk.payments.methods import CARD, METHODS, describe_payment_method, offered
from paydesk.payments.models import PAID_PAYMENT_STATUSES, Payment, PaymentStatus
from paydesk.principals import CHECKOUT_LINK_PREFIX, CHECKOUT_TOKEN_PREFIX, Customer

router = APIRouter(include_in_schema=False)

_HERE = Path(__file__).parent
_STATIC = _HERE / "static"
_STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}

_templates = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

# The publishable key the offline sandbox accepts, as Stripe.js would send one.
SANDBOX_PUBLISHABLE_KEY = "pk_test_sandbox"
# With real Stripe keys the page needs the account's publishable key (pk_test_… / pk_live_…).
STRIPE_JS = "https://js.stripe.com/v3/"

_FAILED = {PaymentStatus.FAILED, PaymentStatus.CANCELED}

# What the customer accepts before a SEPA debit: the mandate's terms, in the words the
# scheme requires (who may debit, the right to a refund from the bank within 8 weeks).
MANDATE_TEXT = (
    "By providing your IBAN and confirming this payment, you authorise (A) {shop} and "
    "Stripe, our payment service provider, to send instructions to your bank to debit your "
    "account, and (B) your bank to debit your account in accordance with those "
    "instructions. You are entitled to a refund from your bank under the terms and "
    "conditions of your agreement with it; a refund must be claimed within 8 weeks of the "
    "date on which your account was debited."
)

TokenQuery = Annotated[str | None, Query(max_length=200)]


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    sku: str
    quantity: int
    unit: str
    total: str


@router.get("/checkout/{order_id}", response_class=HTMLResponse)
async def checkout_page(
    order_id: str, request: Request, services: ServicesDep, token: TokenQuery = None
) -> Response:
    order = await _customer_order(services, order_id, token)
    if order is None or token is None:
        return _not_found()
    settings = services.settings
    sandbox = settings.uses_sandbox
    api_base = (settings.stripe_api_base or "").rstrip("/")
    publishable_key = SANDBOX_PUBLISHABLE_KEY if sandbox else settings.stripe_publishable_key
    result_url = str(request.url_for("checkout_result", order_id=order.id))
    methods = offered(order.currency, settings.payment_method_types)
    only = methods[0] if len(methods) == 1 else None
    context = {
        **_summary(order),
        "methods": methods,
        "heading": "How would you like to pay?"
        if only is None
        else "Pay by card"
        if only == CARD
        else f"Pay by {only.label}",
        "mandate_text": MANDATE_TEXT.format(shop=settings.shop_name),
        "token": token,
        "paid": order.status in PAID_ORDER_STATUSES,
        "canceled": order.status == OrderStatus.CANCELED,
        "expired": has_expired(order, utcnow()),
        "sandbox": sandbox,
        "api_base": api_base,
        "publishable_key": publishable_key,
        "result_url": f"{result_url}?token={quote(token, safe='')}",
        "stripe_js": STRIPE_JS,
    }
    connect = f"'self' {api_base}" if sandbox else "'self' https://api.stripe.com"
    script = "'self'" if sandbox else f"'self' {STRIPE_JS}"
    frame = "'none'" if sandbox else "https://js.stripe.com https://hooks.stripe.com"
    csp = (
        f"default-src 'self'; script-src {script}; connect-src {connect}; "
        f"frame-src {frame}; img-src 'self' data:; style-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    return _page("checkout.html", context, csp=csp)


@router.get("/checkout/{order_id}/result", response_class=HTMLResponse, name="checkout_result")
async def checkout_result(
    order_id: str,
    services: ServicesDep,
    token: TokenQuery = None,
    payment_intent: Annotated[str | None, Query(max_length=255)] = None,
    redirect_status: Annotated[str | None, Query(max_length=32)] = None,
    method: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    order = await _customer_order(services, order_id, token)
    if order is None or token is None:
        return _not_found()
    principal = Customer(order.id)
    payment = await services.payments.of_order(order.id, intent_id=payment_intent)
    status: str | None = None
    decline_code: str | None = None
    if payment is not None and payment.stripe_payment_intent_id is not None:
        with contextlib.suppress(PaydeskError):  # Stripe unreachable: what paydesk last knew
            payment = (await services.payments.verify(principal, payment.id)).payment
        status = payment.status
        decline_code = payment.last_error_code
    outcome = _outcome(status, redirect_status, order.status)
    checkout_url = f"/checkout/{quote(order.id, safe='')}?token={quote(token, safe='')}"
    # The method the customer just used: the checkout page names it in the return_url, as
    # a failed redirect leaves no charge to read it from.
    chosen = METHODS.get(method or "") or METHODS.get((payment and payment.method_type) or "")
    context = {
        **_summary(order),
        "outcome": outcome,
        "by_bank": chosen is not None and chosen != CARD,
        "delayed": chosen is not None and chosen.delayed,
        "paid_by": _paid_by(payment) if outcome == "paid" else None,
        "decline_code": decline_code if outcome == "failed" else None,
        "checkout_url": checkout_url,
        "capture_later": status == PaymentStatus.REQUIRES_CAPTURE,
    }
    return _page("result.html", context, status_code=200)


@router.get("/static/checkout/{name}")
async def checkout_static(name: str) -> Response:
    path = _STATIC / name
    media_type = _STATIC_TYPES.get(path.suffix)
    if media_type is None or "/" in name or name.startswith(".") or not path.is_file():
        return Response("Not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})


async def _customer_order(services: ServicesDep, order_id: str, token: str | None) -> Order | None:
    """The order when `token` is its own checkout token or a link to it; None for anything
    else."""
    if not token or not token.startswith((CHECKOUT_TOKEN_PREFIX, CHECKOUT_LINK_PREFIX)):
        return None
    try:
        principal = await services.auth.authenticate(f"Bearer {token}")
        return await services.orders.get(principal, order_id)
    except PaydeskError:
        return None


def _outcome(status: str | None, redirect_status: str | None, order_status: str) -> str:
    if status in PAID_PAYMENT_STATUSES or (status is None and order_status in PAID_ORDER_STATUSES):
        return "paid"
    if status in _FAILED or redirect_status == "failed":
        return "failed"
    if status in (PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_ACTION) or (
        redirect_status == "succeeded"
    ):
        return "processing"
    if status == PaymentStatus.PENDING and order_status == OrderStatus.PAYMENT_FAILED:
        return "failed"
    return "unpaid"


def _paid_by(payment: Payment | None) -> str | None:
    return describe_payment_method(payment) if payment is not None else None


def _summary(order: Order) -> dict[str, Any]:
    items = sorted(order.items, key=lambda item: item.position)
    lines = [
        Line(
            name=item.name,
            sku=item.sku,
            quantity=item.quantity,
            unit=format_amount(item.unit_amount, order.currency),
            total=format_amount(item.unit_amount * item.quantity, order.currency),
        )
        for item in items
    ]
    return {
        "order_id": order.id,
        "lines": lines,
        "total": format_amount(order.amount, order.currency),
        "currency": order.currency.upper(),
    }


def _page(
    template: str, context: dict[str, Any], *, status_code: int = 200, csp: str | None = None
) -> HTMLResponse:
    html = _templates.get_template(template).render(context)
    headers = {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": csp
        or (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        ),
    }
    return HTMLResponse(html, status_code=status_code, headers=headers)


def _not_found() -> HTMLResponse:
    return _page("not_found.html", {}, status_code=404)
