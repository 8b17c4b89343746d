"""What every dashboard page shares: the signed-in operator, the read models, checked forms,
rendering.

Pages are server-rendered and need no JavaScript. A request without a live session is sent
to the login page (and back afterwards); every POST carries the session's CSRF token in a
hidden field, compared in constant time, or is refused with 403 before it does anything.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from paydesk.deps import ServicesDep
from paydesk.money import format_amount
from paydesk.operators.service import SignedIn
from paydesk.payments.methods import describe_payment_method
from paydesk.payouts.models import Payout, PayoutStatus
from paydesk.payouts.schemas import status_in_words
from paydesk.payouts.service import PayoutView
from paydesk.validation import control_character
from paydesk.web.dashboard.read_inbox import InboxReadModel
from paydesk.web.dashboard.read_overview import OverviewReadModel
from paydesk.web.dashboard.read_payments import PaymentReadModel

SESSION_COOKIE = "paydesk_session"
# Room for a dispute's evidence: a dozen fields of up to 20,000 characters each.
MAX_FORM_BYTES = 512 * 1024
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parents[1] / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


class LoginRequired(Exception):
    """No live session: the app answers with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfRefused(Exception):
    """A form without this session's CSRF token: the app answers 403 and does nothing."""


class FormTooLarge(Exception):
    """A form body over `MAX_FORM_BYTES`: the app answers 413 and does nothing."""


class FormCharacters(Exception):
    """A form field holding a control character: the app answers 400 and does nothing."""

    def __init__(self, field: str, character: str) -> None:
        super().__init__(f"{field}: {character}")
        self.field = field
        self.character = character


def money(amount: int | None, currency: str) -> str:
    return "—" if amount is None else format_amount(amount, currency)


def when(moment: datetime | None) -> str:
    """`2026-11-26 09:15 UTC`; the dashboard speaks UTC, as the ledger does."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def when_exact(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def words(value: str | None) -> str:
    """`partially_refunded` → `partially refunded`."""
    return "—" if not value else value.replace("_", " ")


def payout_status(payout: Payout) -> str:
    """`In transit`, `Paid`; a failed payout with why: `Failed: The bank account has been
    closed.` (Stripe's message, else its code)."""
    why = payout.failure_message or (payout.failure_code or "").replace("_", " ")
    return status_in_words(payout.status, why if payout.status == PayoutStatus.FAILED else None)


def reconciliation(view: PayoutView) -> str:
    """Whether what the payout paid out adds up to it, in words."""
    if view.contents_net is None:
        if not view.payout.automatic:
            return "Manual payout: nothing to reconcile"
        return "Not read yet"
    if view.reconciled:
        return "Reconciled"
    off = abs(view.contents_net - view.payout.amount)
    return f"Does not add up (off by {format_amount(off, view.payout.currency)})"


templates.filters["money"] = money
templates.filters["when"] = when
templates.filters["when_exact"] = when_exact
templates.filters["words"] = words
templates.filters["payment_method"] = describe_payment_method
templates.filters["payout_status"] = payout_status
templates.filters["reconciliation"] = reconciliation


async def current_operator(request: Request, services: ServicesDep) -> SignedIn:
    token = request.cookies.get(SESSION_COOKIE)
    operator = await services.operators.signed_in(token) if token else None
    if operator is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path if request.method == "GET" else "/dashboard")
    return operator


OperatorDep = Annotated[SignedIn, Depends(current_operator)]


# The read models, over the app's units of work. They hold nothing else, so each request
# that reads gets its own at no cost; the composition root is a layer below the web and
# cannot hold them. Coroutines, as FastAPI would run plain functions in a thread.


async def overview_reads(services: ServicesDep) -> OverviewReadModel:
    return OverviewReadModel(services.units, services.payouts, services.deadlines)


async def payment_reads(services: ServicesDep) -> PaymentReadModel:
    return PaymentReadModel(services.units)


async def inbox_reads(services: ServicesDep) -> InboxReadModel:
    return InboxReadModel(services.units)


OverviewReadsDep = Annotated[OverviewReadModel, Depends(overview_reads)]
PaymentReadsDep = Annotated[PaymentReadModel, Depends(payment_reads)]
InboxReadsDep = Annotated[InboxReadModel, Depends(inbox_reads)]


async def read_form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body as its first value per field; refused
    when a field holds a control character other than tabs and line breaks."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge()
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    form = {name: values[0] for name, values in fields.items()}
    for name, value in form.items():
        found = control_character(name) or control_character(value)
        if found is not None:
            raise FormCharacters(name, found)
    return form


async def checked_form(request: Request, operator: OperatorDep) -> dict[str, str]:
    """The posted form, once its CSRF token is this session's."""
    form = await read_form(request)
    if not tokens_match(form.get("csrf_token"), operator.csrf_token):
        raise CsrfRefused()
    return form


FormDep = Annotated[dict[str, str], Depends(checked_form)]


def tokens_match(sent: str | None, expected: str) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent).encode(), expected.encode())


def page(
    template: str,
    context: dict[str, Any],
    *,
    operator: SignedIn | None,
    request: Request,
    status_code: int = 200,
) -> HTMLResponse:
    """`dashboard/<template>` rendered with the operator, their CSRF token and the mode."""
    settings = request.app.state.services.settings
    html = templates.get_template(f"dashboard/{template}").render(
        {
            **context,
            "operator": operator,
            "csrf_token": operator.csrf_token if operator else None,
            "sandbox": settings.uses_sandbox,
        }
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def redirect(url: str) -> RedirectResponse:
    """After a POST: 303, so the browser GETs the next page (reloading repeats nothing)."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def login_url(next_url: str) -> str:
    return f"/dashboard/login?next={quote(next_url, safe='/')}"


def safe_next(next_url: str | None) -> str:
    """Only a dashboard path of this site: never `//elsewhere` or a full URL."""
    if next_url and next_url.startswith("/dashboard") and not next_url.startswith("//"):
        return next_url
    return "/dashboard"


SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CSP,
}
