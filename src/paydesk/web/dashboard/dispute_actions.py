"""Answering a dispute from the payment's page: evidence saved at Stripe as a draft, or
submitted to the bank through a confirmation page.

A draft changes nothing final, so it is sent at once. Submitting is final, so the form's
second button first shows what will be sent, and only that page's form (`confirm=yes`, the
same fields as hidden inputs) submits; it can instead save them as a draft. Both are sent
through `DisputeService.submit_evidence`. Sent twice, the second submission is refused: the
dispute has its evidence by then.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.composition import Services
from paydesk.db import utcnow
from paydesk.deps import ServicesDep
from paydesk.disputes.models import Dispute
from paydesk.errors import Conflict, InvalidRequest, NotFound, PaydeskError
from paydesk.operators.service import SignedIn
from paydesk.orders.models import Order
from paydesk.payments.models import Payment
from paydesk.payments.state import DISPUTE_OPEN
from paydesk.web.dashboard.common import FormDep, OperatorDep, PaymentReadsDep, page, redirect
from paydesk.web.dashboard.evidence_form import evidence_due, labelled, read_evidence
from paydesk.web.dashboard.payment_detail import payment_not_found, render_refusal
from paydesk.web.dashboard.read_payments import PaymentReadModel

router = APIRouter(prefix="/dashboard", include_in_schema=False)
log = logging.getLogger(__name__)


@router.post("/payments/{payment_id}/disputes/{dispute_id}/draft", response_class=HTMLResponse)
async def save_draft(
    payment_id: str,
    dispute_id: str,
    request: Request,
    operator: OperatorDep,
    services: ServicesDep,
    reads: PaymentReadsDep,
    form: FormDep,
) -> Response:
    found = await _load(request, operator, services, reads, payment_id, dispute_id)
    if isinstance(found, Response):
        return found
    payment, _order, dispute = found
    try:
        _refuse_if_closed(dispute)
        evidence = read_evidence(form)
        if not evidence:
            raise InvalidRequest("Every field is empty: there is nothing to save.")
        await services.disputes.submit_evidence(
            dispute.id, evidence, submit=False, operator=operator.email
        )
    except PaydeskError as error:
        return await render_refusal(
            request,
            operator,
            services,
            reads,
            payment.id,
            error,
            {**form, "action": "evidence", "dispute_id": dispute.id},
        )
    log.info(
        "dashboard evidence draft for %s of %s by %s",
        dispute.id,
        payment.id,
        operator.email,
        extra={"payment_id": payment.id, "dispute_id": dispute.id, "fields": sorted(evidence)},
    )
    return redirect(f"/dashboard/payments/{payment.id}?notice=evidence_saved")


@router.post("/payments/{payment_id}/disputes/{dispute_id}/submit", response_class=HTMLResponse)
async def submit(
    payment_id: str,
    dispute_id: str,
    request: Request,
    operator: OperatorDep,
    services: ServicesDep,
    reads: PaymentReadsDep,
    form: FormDep,
) -> Response:
    found = await _load(request, operator, services, reads, payment_id, dispute_id)
    if isinstance(found, Response):
        return found
    payment, order, dispute = found
    try:
        _refuse_if_closed(dispute)
        evidence = read_evidence(form)
        if form.get("confirm") != "yes":
            return _confirm_page(request, operator, payment, order, dispute, evidence)
        await services.disputes.submit_evidence(
            dispute.id, evidence, submit=True, operator=operator.email
        )
    except PaydeskError as error:
        return await render_refusal(
            request,
            operator,
            services,
            reads,
            payment.id,
            error,
            {**form, "action": "evidence", "dispute_id": dispute.id},
        )
    log.info(
        "dashboard evidence submitted for %s of %s by %s",
        dispute.id,
        payment.id,
        operator.email,
        extra={"payment_id": payment.id, "dispute_id": dispute.id, "fields": sorted(evidence)},
    )
    return redirect(f"/dashboard/payments/{payment.id}?notice=evidence_submitted")


async def _load(
    request: Request,
    operator: SignedIn,
    services: Services,
    reads: PaymentReadModel,
    payment_id: str,
    dispute_id: str,
) -> tuple[Payment, Order, Dispute] | Response:
    """The payment, its order and its dispute; or a 404 page when the payment is missing or
    the dispute is not one of its own."""
    found = await reads.subject(payment_id)
    if found is None:
        return payment_not_found(request, operator, payment_id)
    try:
        dispute = await services.disputes.get(dispute_id)
    except NotFound:
        return _dispute_not_found(request, operator, payment_id, dispute_id)
    if dispute.payment_id != found.payment.id:
        return _dispute_not_found(request, operator, payment_id, dispute_id)
    return found.payment, found.order, dispute


def _dispute_not_found(
    request: Request, operator: SignedIn, payment_id: str, dispute_id: str
) -> Response:
    context = {
        "section": "payments",
        "message": f"Payment {payment_id} has no dispute {dispute_id}.",
        "back_url": f"/dashboard/payments/{payment_id}",
        "back_label": "Back to the payment",
    }
    return page("not_found.html", context, operator=operator, request=request, status_code=404)


def _refuse_if_closed(dispute: Dispute) -> None:
    """What `DisputeService.submit_evidence` refuses, said in the operator's words before
    anything is sent or confirmed; the service checks again, for a submission racing this
    one."""
    if dispute.evidence_submitted:
        raise Conflict(
            f"The evidence for dispute {dispute.id} was submitted already: "
            "it can no longer change.",
            code="dispute_not_open",
        )
    if dispute.status not in DISPUTE_OPEN:
        raise Conflict(
            f"Dispute {dispute.id} is closed ({dispute.status.replace('_', ' ')}): "
            "it takes no more evidence.",
            code="dispute_not_open",
        )


def _confirm_page(
    request: Request,
    operator: SignedIn,
    payment: Payment,
    order: Order,
    dispute: Dispute,
    evidence: dict[str, str],
) -> Response:
    context = {
        "section": "payments",
        "payment": payment,
        "order": order,
        "dispute": dispute,
        "due": evidence_due(dispute.evidence_due_by, utcnow()),
        "evidence": evidence,
        "shown": labelled(evidence),
    }
    return page("dispute_evidence.html", context, operator=operator, request=request)
