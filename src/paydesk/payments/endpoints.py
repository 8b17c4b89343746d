from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from paydesk.deps import AuthorizedRoute, IdQuery, ServicesDep, ShopKey, ShopOrCheckout
from paydesk.gateway.base import MandateAcceptance
from paydesk.openapi import errors
from paydesk.payments.models import PaymentStatus
from paydesk.payments.schemas import (
    PaymentCapture,
    PaymentCreate,
    PaymentList,
    PaymentOut,
    PaymentVerify,
)
from paydesk.payments.service import PaymentView
from paydesk.principals import Customer, Principal

router = APIRouter(prefix="/api/payments", tags=["payments"], route_class=AuthorizedRoute)


def _out(view: PaymentView, principal: Principal | None = None) -> PaymentOut:
    """The payment as `principal` may see it (None: the shop)."""
    for_shop = not isinstance(principal, Customer)
    return PaymentOut.of(view.payment, view.timeline, for_shop=for_shop)


@router.post("", response_model=PaymentOut, responses=errors(402, 404, 502))
async def start_payment(
    body: PaymentCreate, principal: ShopOrCheckout, services: ServicesDep, request: Request
) -> PaymentOut:
    """Start the payment of an order, or return its open one (shop key or checkout token).

    With `payment_method` the PaymentIntent is confirmed on the server: a declined card
    answers 402 with Stripe's `decline_code`, and the order can be paid with another card.
    A SEPA Direct Debit answers `processing` and is paid (or fails) days later; iDEAL and
    Bancontact answer with `next_action`, the bank's page, and need `return_url`."""
    mandate = None
    if body.mandate_accepted:
        mandate = MandateAcceptance(
            ip_address=request.client.host if request.client else "",
            user_agent=request.headers.get("user-agent", "")[:500],
        )
    view = await services.payments.start(
        principal,
        body.order_id,
        payment_method=body.payment_method,
        return_url=body.return_url,
        mandate=mandate,
    )
    return _out(view, principal)


@router.post("/verify", response_model=PaymentOut, responses=errors(404, 502))
async def verify_payment(
    body: PaymentVerify, principal: ShopOrCheckout, services: ServicesDep
) -> PaymentOut:
    """Ask Stripe where the payment stands and apply it (after the browser comes back)."""
    return _out(await services.payments.verify(principal, body.payment_id), principal)


@router.post("/{payment_id}/capture", response_model=PaymentOut, responses=errors(502))
async def capture_payment(
    payment_id: str,
    _shop: ShopKey,
    services: ServicesDep,
    body: PaymentCapture | None = None,
) -> PaymentOut:
    """Capture an authorized payment (shop key): all of it, or `amount`, releasing the rest."""
    amount = body.amount if body is not None else None
    return _out(await services.payments.capture(payment_id, amount=amount))


@router.post("/{payment_id}/cancel", response_model=PaymentOut, responses=errors(502))
async def cancel_payment(payment_id: str, _shop: ShopKey, services: ServicesDep) -> PaymentOut:
    """Release an uncaptured payment, or abandon an unpaid one (shop key)."""
    return _out(await services.payments.cancel(payment_id))


@router.get("/{payment_id}", response_model=PaymentOut)
async def get_payment(
    payment_id: str, principal: ShopOrCheckout, services: ServicesDep
) -> PaymentOut:
    return _out(await services.payments.visible_view(principal, payment_id), principal)


@router.get("", response_model=PaymentList)
async def list_payments(
    _shop: ShopKey,
    services: ServicesDep,
    status: PaymentStatus | None = None,
    order_id: IdQuery = None,
    cursor: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PaymentList:
    """Payments, newest first, with their timelines (shop key)."""
    views, more = await services.payments.list_views(
        status=status, order_id=order_id, before_id=cursor, limit=limit
    )
    return PaymentList(
        data=[_out(v) for v in views],
        next_cursor=views[-1].payment.id if more else None,
    )
