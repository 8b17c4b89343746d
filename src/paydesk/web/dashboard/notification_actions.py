"""Sending a payment's notification again from its page: a dead one gets a fresh round of
delivery attempts, a pending one that keeps failing is due now. Harmless, so no confirmation:
the worker delivers it as it delivers every notification, signed as before."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.deps import ServicesDep
from paydesk.errors import Conflict, NotFound
from paydesk.notifications import outbox
from paydesk.notifications.delivery import LEASE
from paydesk.notifications.models import NotificationStatus
from paydesk.web.dashboard.common import FormDep, OperatorDep, page, redirect
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
    _form: FormDep,  # read for its CSRF token only
) -> Response:
    try:
        async with services.db.transaction() as session:
            found = await outbox.get_notification(session, notification_id)
            if found.payment_id != payment_id:
                raise NotFound(f"Payment {payment_id} has no notification {notification_id}.")
            was = found.status
            await outbox.retry_notification(session, notification_id, lease=LEASE)
    except NotFound:
        context = {
            "section": "payments",
            "message": f"Payment {payment_id} has no notification {notification_id}.",
            "back_url": f"/dashboard/payments/{payment_id}",
            "back_label": "Back to the payment",
        }
        return page("not_found.html", context, operator=operator, request=request, status_code=404)
    except Conflict as error:
        return await render_refusal(request, operator, services, payment_id, error, {})
    log.info(
        "dashboard resend of notification %s (%s) of %s by %s",
        notification_id,
        was,
        payment_id,
        operator.email,
        extra={"payment_id": payment_id, "notification_id": notification_id},
    )
    notice = "notification_resent" if was == NotificationStatus.DEAD else "notification_due"
    return redirect(f"/dashboard/payments/{payment_id}?notice={notice}")
