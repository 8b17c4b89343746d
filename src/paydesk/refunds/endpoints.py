from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from paydesk.deps import AuthorizedRoute, ServicesDep, ShopKey
from paydesk.openapi import errors
from paydesk.refunds.schemas import RefundCreate, RefundList, RefundOut

router = APIRouter(
    prefix="/api/payments/{payment_id}/refunds", tags=["refunds"], route_class=AuthorizedRoute
)


@router.post("", status_code=201, response_model=RefundOut, responses=errors(502))
async def create_refund(
    payment_id: str,
    body: RefundCreate,
    _shop: ShopKey,
    services: ServicesDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> RefundOut:
    """Refund all that is still refundable, or `amount` of it (shop key). A refund has its
    own status, kept current from Stripe's webhooks; the payment becomes
    `partially_refunded` or `refunded` as refunds succeed."""
    refund = await services.refunds.refund(
        payment_id, amount=body.amount, reason=body.reason, client_key=idempotency_key
    )
    return RefundOut.model_validate(refund)


@router.get("", response_model=RefundList)
async def list_refunds(payment_id: str, _shop: ShopKey, services: ServicesDep) -> RefundList:
    refunds = await services.refunds.list_for_payment(payment_id)
    return RefundList(data=[RefundOut.model_validate(r) for r in refunds])
