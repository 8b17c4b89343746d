"""Refund, capture and cancel from the dashboard, each in two steps.

The form on the payment's page posts here; the answer is a page saying exactly what will
happen, whose form carries the exact amounts and `confirm=yes`. Only that second post acts,
then redirects to the payment's page with a notice. A refund's confirmation also carries a
nonce made when the page was shown: it is the refund's idempotency key, so a confirmation
sent twice (a double click, the browser's Back and submit again) refunds once.

Both steps ask what the API asks (`RefundService.refundable`, `capture_refusal`,
`cancel_refusal`) and the second acts through the same services (`RefundService.refund`,
`PaymentService.capture` and `cancel`); whatever they refuse is shown on the payment's page
in the error's own words and HTTP status.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.composition import Services
from paydesk.deps import ServicesDep
from paydesk.errors import Conflict, InvalidRequest, PaydeskError, PaymentProviderUnavailable
from paydesk.money import format_amount, parse_amount
from paydesk.operators.service import SignedIn
from paydesk.orders.models import Order
from paydesk.payments.models import Payment, PaymentStatus
from paydesk.payments.service import cancel_refusal, capture_refusal
from paydesk.refunds.models import RefundStatus
from paydesk.refunds.service import REASONS
from paydesk.web.dashboard.common import (
    FormDep,
    OperatorDep,
    PaymentReadsDep,
    page,
    redirect,
    words,
)
from paydesk.web.dashboard.payment_detail import payment_not_found, render_refusal

router = APIRouter(prefix="/dashboard", include_in_schema=False)
log = logging.getLogger(__name__)

_NONCE = re.compile(r"[A-Za-z0-9_-]{22,64}")
_LONGEST_AMOUNT = 32  # characters; more is not an amount anyone means
_REFUND_NOTICE: dict[str, str] = {
    RefundStatus.SUCCEEDED: "refunded",
    RefundStatus.PENDING: "refund_pending",
    RefundStatus.REQUIRES_ACTION: "refund_pending",
    RefundStatus.FAILED: "refund_failed",
    RefundStatus.CANCELED: "refund_failed",
}


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What the confirmation page asks, and the exact values its form sends back."""

    action: str
    heading: str
    question: str
    consequences: list[str]
    facts: list[tuple[str, str]]
    confirm_label: str
    danger: bool
    fields: dict[str, str] = field(default_factory=dict)


@router.post("/payments/{payment_id}/refund", response_class=HTMLResponse)
async def refund(
    payment_id: str,
    request: Request,
    operator: OperatorDep,
    services: ServicesDep,
    reads: PaymentReadsDep,
    form: FormDep,
) -> Response:
    found = await reads.subject(payment_id)
    if found is None:
        return payment_not_found(request, operator, payment_id)
    payment, order = found.payment, found.order
    try:
        reason = form.get("reason", "")
        if reason not in REASONS:
            raise InvalidRequest("Choose a reason for the refund.", param="reason")
        if form.get("confirm") != "yes":
            return await _ask_refund(request, operator, services, payment, order, form, reason)
        return await _make_refund(request, operator, services, payment, order, form, reason)
    except PaydeskError as error:
        return await render_refusal(
            request, operator, services, reads, payment.id, error, {**form, "action": "refund"}
        )


async def _ask_refund(
    request: Request,
    operator: SignedIn,
    services: Services,
    payment: Payment,
    order: Order,
    form: dict[str, str],
    reason: str,
) -> Response:
    # The service's own answer (its Conflict when the status allows no refund); the amount is
    # held against it here as the service holds it when the refund is confirmed.
    refundable = await services.refunds.refundable(payment.id)
    if refundable <= 0:
        raise Conflict(
            "Nothing of this payment is left to refund: refunds under way hold the rest.",
            code="payment_not_refundable",
        )
    amount = _amount(form.get("amount", ""), payment) or refundable
    if amount > refundable:
        raise InvalidRequest(
            f"At most {_money(refundable, payment)} of this payment can be refunded.",
            code="amount_too_large",
            param="amount",
        )
    nonce = secrets.token_urlsafe(24)  # one per confirmation page: its refund's key
    confirmation = _refund_confirmation(
        payment, order, amount, reason, left=refundable - amount, nonce=nonce
    )
    return _confirm_page(request, operator, payment, confirmation)


async def _make_refund(
    request: Request,
    operator: SignedIn,
    services: Services,
    payment: Payment,
    order: Order,
    form: dict[str, str],
    reason: str,
) -> Response:
    amount = _amount(form.get("amount", ""), payment)
    nonce = form.get("nonce", "")
    if amount is None or not _NONCE.fullmatch(nonce):
        raise InvalidRequest("This confirmation is incomplete: start the refund again.")
    try:
        made = await services.refunds.refund(
            payment.id,
            amount=amount,
            reason=reason,
            client_key=f"dashboard-{nonce}",
            operator=operator.email,
        )
    except PaymentProviderUnavailable as error:
        # The refund is reserved but may not exist at Stripe: this same confirmation, sent
        # again, retries with the same key, so Stripe refunds at most once.
        left = await services.refunds.refundable(payment.id)
        confirmation = _refund_confirmation(payment, order, amount, reason, left=left, nonce=nonce)
        message = (
            f"{error.message} Confirming again retries this same refund, which Stripe makes "
            "at most once."
        )
        return _confirm_page(
            request, operator, payment, confirmation, error=message, status=error.status_code
        )
    # The timeline names the operator only when the status changes; the log always does.
    log.info(
        "dashboard refund %s of %s by %s: %s",
        made.id,
        payment.id,
        operator.email,
        made.status,
        extra={"payment_id": payment.id, "refund_id": made.id, "amount": made.amount},
    )
    notice = _REFUND_NOTICE.get(made.status, "refund_pending")
    return redirect(f"/dashboard/payments/{payment.id}?notice={notice}")


@router.post("/payments/{payment_id}/capture", response_class=HTMLResponse)
async def capture(
    payment_id: str,
    request: Request,
    operator: OperatorDep,
    services: ServicesDep,
    reads: PaymentReadsDep,
    form: FormDep,
) -> Response:
    found = await reads.subject(payment_id)
    if found is None:
        return payment_not_found(request, operator, payment_id)
    payment, order = found.payment, found.order
    confirmed = form.get("confirm") == "yes"
    try:
        amount = _amount(form.get("amount", ""), payment)
        if amount is None and confirmed:
            raise InvalidRequest("This confirmation is incomplete: start the capture again.")
        amount = amount or payment.amount
        refusal = capture_refusal(payment, amount)
        if refusal is not None:
            raise refusal
        if not confirmed:
            return _confirm_page(
                request, operator, payment, _capture_confirmation(payment, order, amount)
            )
        await services.payments.capture(payment.id, amount=amount, operator=operator.email)
    except PaydeskError as error:
        return await render_refusal(
            request, operator, services, reads, payment.id, error, {**form, "action": "capture"}
        )
    log.info(
        "dashboard capture of %s by %s",
        payment.id,
        operator.email,
        extra={"payment_id": payment.id, "amount": amount},
    )
    return redirect(f"/dashboard/payments/{payment.id}?notice=captured")


@router.post("/payments/{payment_id}/cancel", response_class=HTMLResponse)
async def cancel(
    payment_id: str,
    request: Request,
    operator: OperatorDep,
    services: ServicesDep,
    reads: PaymentReadsDep,
    form: FormDep,
) -> Response:
    found = await reads.subject(payment_id)
    if found is None:
        return payment_not_found(request, operator, payment_id)
    payment, order = found.payment, found.order
    try:
        refusal = cancel_refusal(payment)
        if refusal is not None:
            raise refusal
        if form.get("confirm") != "yes":
            return _confirm_page(request, operator, payment, _cancel_confirmation(payment, order))
        await services.payments.cancel(payment.id, operator=operator.email)
    except PaydeskError as error:
        return await render_refusal(
            request, operator, services, reads, payment.id, error, {**form, "action": "cancel"}
        )
    log.info("dashboard cancel of %s by %s", payment.id, operator.email)
    return redirect(f"/dashboard/payments/{payment.id}?notice=canceled")


def _amount(text: str, payment: Payment) -> int | None:
    """The amount typed in major units, in minor units; None when left empty, which the
    first step takes as all of it (a confirmation always names its exact amount)."""
    text = text.strip()
    if not text:
        return None
    if len(text) > _LONGEST_AMOUNT:
        raise InvalidRequest(f"“{text[:_LONGEST_AMOUNT]}…” is not an amount.", param="amount")
    try:
        amount = parse_amount(text, payment.currency)
    except ValueError as error:
        raise InvalidRequest(str(error), param="amount") from error
    if amount <= 0:
        raise InvalidRequest("The amount must be more than zero.", param="amount")
    return amount


def _money(amount: int, payment: Payment) -> str:
    return format_amount(amount, payment.currency)


def _major(amount: int, payment: Payment) -> str:
    """`1250` EUR → `12.50`: the amount as the form's field takes it back."""
    return _money(amount, payment).rsplit(" ", 1)[0]


def _refund_confirmation(
    payment: Payment, order: Order, amount: int, reason: str, *, left: int, nonce: str
) -> Confirmation:
    return Confirmation(
        action="refund",
        heading="Confirm the refund",
        question=(
            f"Refund {_money(amount, payment)} of {_money(payment.amount, payment)} "
            f"to {order.customer_email}?"
        ),
        consequences=[
            "Stripe sends the money back to the customer's card. A refund cannot be undone.",
            f"{_money(left, payment)} of the payment stays refundable afterwards."
            if left
            else "Nothing of the payment stays refundable afterwards.",
        ],
        facts=[
            ("Payment", payment.id),
            ("Order", order.id),
            ("Customer", order.customer_email),
            ("Amount", _money(amount, payment)),
            ("Reason", words(reason)),
        ],
        confirm_label=f"Refund {_money(amount, payment)}",
        danger=True,
        fields={"amount": _major(amount, payment), "reason": reason, "nonce": nonce},
    )


def _capture_confirmation(payment: Payment, order: Order, amount: int) -> Confirmation:
    released = payment.amount - amount
    return Confirmation(
        action="capture",
        heading="Confirm the capture",
        question=(
            f"Capture {_money(amount, payment)} of the {_money(payment.amount, payment)} "
            f"authorized from {order.customer_email}?"
        ),
        consequences=[
            "The customer's card is charged this amount. It can only be captured once.",
            f"The other {_money(released, payment)} is released to the customer's card."
            if released
            else "All of the authorization is taken.",
        ],
        facts=[
            ("Payment", payment.id),
            ("Order", order.id),
            ("Customer", order.customer_email),
            ("Authorized", _money(payment.amount, payment)),
            ("Capture", _money(amount, payment)),
        ],
        confirm_label=f"Capture {_money(amount, payment)}",
        danger=False,
        fields={"amount": _major(amount, payment)},
    )


def _cancel_confirmation(payment: Payment, order: Order) -> Confirmation:
    held = payment.status == PaymentStatus.REQUIRES_CAPTURE
    return Confirmation(
        action="cancel",
        heading="Confirm the cancellation",
        question=(
            f"Cancel the payment of {_money(payment.amount, payment)} by {order.customer_email}?"
        ),
        consequences=[
            "The authorization is released: the customer is not charged."
            if held
            else "The customer has not paid, and can no longer pay with this payment.",
            f"Order {order.id} is canceled with it. This cannot be undone.",
        ],
        facts=[
            ("Payment", payment.id),
            ("Order", order.id),
            ("Customer", order.customer_email),
            ("Status now", words(payment.status)),
        ],
        confirm_label="Cancel the payment",
        danger=True,
    )


def _confirm_page(
    request: Request,
    operator: SignedIn,
    payment: Payment,
    confirmation: Confirmation,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "section": "payments",
        "payment": payment,
        "confirmation": confirmation,
        "error": error,
    }
    return page("confirm.html", context, operator=operator, request=request, status_code=status)
