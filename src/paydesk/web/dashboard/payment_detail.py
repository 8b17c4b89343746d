"""One payment's page: its order, money, fraud signals (Radar's rating, early fraud
warnings), timeline, Stripe's facts, refunds, disputes, ledger, webhook events and
notifications, read through the payments' read model (read_payments.py),
and the forms for what an operator may do with it now, offered as the services would allow
it (`RefundService.refundable`, `capture_refusal`, `cancel_refusal`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.composition import Services
from paydesk.db import utcnow
from paydesk.deps import ServicesDep
from paydesk.errors import Conflict, PaydeskError
from paydesk.operators.service import SignedIn
from paydesk.orders.models import Order, OrderStatus
from paydesk.payments.models import Payment, PaymentStatus
from paydesk.payments.service import cancel_refusal, capture_refusal
from paydesk.refunds.service import REASONS
from paydesk.web.dashboard.common import OperatorDep, PaymentReadsDep, page
from paydesk.web.dashboard.evidence_form import EVIDENCE_FIELDS, MAX_CHARACTERS, evidence_forms
from paydesk.web.dashboard.read_payments import PaymentReadModel

router = APIRouter(prefix="/dashboard", include_in_schema=False)

# What an action's redirect may say: a code in the URL, never text taken from it.
NOTICES = {
    "refunded": "Refund made: it is listed under Refunds and in the ledger.",
    "refund_pending": (
        "Refund sent to Stripe, which has not confirmed it yet: its status under Refunds "
        "follows Stripe's answer."
    ),
    "captured": "Payment captured: the money taken is in the ledger.",
    "canceled": "Payment canceled, and its order with it.",
    "evidence_saved": (
        "Evidence saved at Stripe as a draft: nothing went to the bank yet. paydesk keeps no "
        "copy, so the form is empty again; a field left empty keeps what Stripe has."
    ),
    "evidence_submitted": "Evidence submitted to the bank: it can no longer change.",
    "notification_resent": (
        "Notification due again now, with a fresh round of delivery attempts: the worker "
        "sends it on its next pass, and its attempts are listed under Notifications."
    ),
    "notification_due": (
        "Notification due now: the worker sends it on its next pass, and its attempts are "
        "listed under Notifications."
    ),
}
ALERTS = {
    "refund_failed": "Stripe did not make the refund: its reason is under Refunds.",
}

# Radar's risk levels, in words; elevated and highest are worth an operator's look.
RISK_LEVELS = {
    "normal": "normal",
    "elevated": "elevated risk",
    "highest": "highest risk",
    "not_assessed": "not assessed by Radar",
}
RISKY = frozenset({"elevated", "highest"})
CANCELLATION_REASONS = {
    "automatic": "Stripe let the authorization lapse",
    "requested_by_customer": "requested by the customer",
}


def risk_in_words(level: str | None) -> str:
    if level is None:
        return "not known: Stripe has not rated a charge of this payment"
    return RISK_LEVELS.get(level, level.replace("_", " "))


def cancellation_in_words(payment: Payment, order: Order) -> str | None:
    """Why a canceled payment was canceled, from Stripe's `cancellation_reason`: `abandoned`
    is paydesk's when the order expired unpaid, or when an authorization was released
    because nobody captured it in time."""
    if payment.status != PaymentStatus.CANCELED:
        return None
    reason = payment.cancellation_reason
    if reason is None:
        return "not given"
    if reason == "abandoned":
        if order.status == OrderStatus.EXPIRED:
            return "abandoned: the order expired"
        if payment.authorized_at is not None:
            return "abandoned: the authorization was released, not captured in time"
        return "abandoned"
    return CANCELLATION_REASONS.get(reason, reason.replace("_", " "))


@router.get("/payments/{payment_id}", response_class=HTMLResponse)
async def payment_page(
    payment_id: str,
    request: Request,
    operator: OperatorDep,
    services: ServicesDep,
    reads: PaymentReadsDep,
) -> Response:
    code = request.query_params.get("notice", "")
    return await render_payment(
        request,
        operator,
        services,
        reads,
        payment_id,
        notice=NOTICES.get(code),
        error=ALERTS.get(code),
    )


async def render_refusal(
    request: Request,
    operator: SignedIn,
    services: Services,
    reads: PaymentReadModel,
    payment_id: str,
    error: PaydeskError,
    form: dict[str, str],
) -> Response:
    """The payment's page again, with why an action was refused, in the error's HTTP status,
    and what was typed."""
    return await render_payment(
        request,
        operator,
        services,
        reads,
        payment_id,
        error=error.message,
        form=form,
        status_code=error.status_code,
    )


async def render_payment(
    request: Request,
    operator: SignedIn,
    services: Services,
    reads: PaymentReadModel,
    payment_id: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The payment's page; after a refused action, with its `error` and what was typed."""
    record = await reads.record(payment_id)
    if record is None:
        return payment_not_found(request, operator, payment_id)
    try:
        refundable: int | None = await services.refunds.refundable(record.payment.id)
    except Conflict:
        refundable = None
    form = form or {}
    context: dict[str, Any] = {
        "section": "payments",
        "record": record,
        "payment": record.payment,
        "order": record.order,
        "notice": notice,
        "error": error,
        "refundable": refundable,
        "can_capture": capture_refusal(record.payment, None) is None,
        "can_cancel": cancel_refusal(record.payment) is None,
        "risk": risk_in_words(record.payment.risk_level),
        "risky": record.payment.risk_level in RISKY,
        "cancellation": cancellation_in_words(record.payment, record.order),
        "refund_ids": {refund.id for refund in record.refunds},
        "reasons": REASONS,
        "action": form.get("action", ""),
        "typed_amount": form.get("amount", ""),
        "typed_reason": form.get("reason", "requested_by_customer"),
        "answers": evidence_forms(record.disputes, form, utcnow()),
        "evidence_fields": EVIDENCE_FIELDS,
        "evidence_max": MAX_CHARACTERS,
    }
    return page(
        "payment.html", context, operator=operator, request=request, status_code=status_code
    )


def payment_not_found(request: Request, operator: SignedIn, payment_id: str) -> Response:
    context = {
        "section": "payments",
        "message": f"There is no payment {payment_id}.",
        "back_url": "/dashboard/payments",
        "back_label": "Back to payments",
    }
    return page("not_found.html", context, operator=operator, request=request, status_code=404)
