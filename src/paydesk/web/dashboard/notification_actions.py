"""Sending a payment's notification again from its page, through
`NotificationService.retry`: a dead one gets a fresh round of delivery attempts, a pending one
that keeps failing is due now. Harmless, so no confirmation: the worker delivers it as it
delivers every notification, signed as before."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.deps import ServicesDep
from paydesk.errors import Conflict, NotFound
from paydesk.notifications.models import NotificationStatus
from paydesk.web.dashboard.common import FormDep, OperatorDep, PaymentReadsDep, page, redirect
from paydesk.web.dashboard.payment_detail import render_refusal

router = APIRouter(prefix="/dashboard", include_in_schema=False)
log = logging.getLogger(__name__)


@router.post(
    "/payments/{payment_id}/notifications/{notification_id}/resend",
    response_class=HTMLResponse,
)
async def resend(
    payment_id: str,
    notification_id: str,
    request: Request,
    operator: OperatorDep,
    services: ServicesDep,
    reads: PaymentReadsDep,
    _form: FormDep,  # read for its CSRF token only
) -> Response:
    try:
        # A notification's payment never changes, so it is checked before the retry, not in
        # its unit of work: another payment's notification is not sent from this page.
        found = (await services.notifications.get(notification_id)).notification
        if found.payment_id != payment_id:
            raise NotFound(f"Payment {payment_id} has no notification {notification_id}.")
        await services.notifications.retry(notification_id)
    except NotFound:
        context = {
            "section": "payments",
            "message": f"Payment {payment_id} has no notification {notification_id}.",
            "back_url": f"/dashboard/payments/{payment_id}",
            "back_label": "Back to the payment",
        }
        return page("not_found.html", context, operator=operator, request=request, status_code=404)
    except Conflict as error:
        return await render_refusal(request, operator, services, reads, payment_id, error, {})
    log.info(
        "dashboard resend of notification %s (%s) of %s by %s",
        notification_id,
        found.status,
        payment_id,
        operator.email,
        extra={"payment_id": payment_id, "notification_id": notification_id},
    )
    # A dead notification starts a fresh round of attempts; a failing one keeps its count.
    notice = (
        "notification_resent" if found.status == NotificationStatus.DEAD else "notification_due"
    )
    return redirect(f"/dashboard/payments/{payment_id}?notice={notice}")
