from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from paydesk.deps import AuthorizedRoute, IdQuery, ServicesDep, ShopKey
from paydesk.disputes.schemas import DisputeEvidence, DisputeList, DisputeOut
from paydesk.openapi import errors

router = APIRouter(prefix="/api/disputes", tags=["disputes"], route_class=AuthorizedRoute)


@router.get("", response_model=DisputeList)
async def list_disputes(
    _shop: ShopKey,
    services: ServicesDep,
    status: Annotated[str | None, Query(max_length=64)] = None,
    cursor: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DisputeList:
    """Disputes, newest first (shop key); `status` as Stripe names it (`needs_response`, …)."""
    rows = await services.disputes.list_disputes(status=status, after=cursor, limit=limit + 1)
    page = list(rows[:limit])
    return DisputeList(
        data=[DisputeOut.model_validate(d) for d in page],
        next_cursor=page[-1].id if len(rows) > limit else None,
    )


@router.get("/{dispute_id}", response_model=DisputeOut)
async def get_dispute(dispute_id: str, _shop: ShopKey, services: ServicesDep) -> DisputeOut:
    return DisputeOut.model_validate(await services.disputes.get(dispute_id))


@router.post("/{dispute_id}/evidence", response_model=DisputeOut, responses=errors(502))
async def submit_evidence(
    dispute_id: str, body: DisputeEvidence, _shop: ShopKey, services: ServicesDep
) -> DisputeOut:
    """Send evidence to Stripe (shop key); with `submit: true` it goes to the bank."""
    dispute = await services.disputes.submit_evidence(dispute_id, body.fields(), submit=body.submit)
    return DisputeOut.model_validate(dispute)
