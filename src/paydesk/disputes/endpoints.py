from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from paydesk.auth.service import require_shop
from paydesk.deps import PrincipalDep, ServicesDep
from paydesk.disputes import repository
from paydesk.disputes.schemas import DisputeEvidence, DisputeList, DisputeOut
from paydesk.errors import NotFound

router = APIRouter(prefix="/api/disputes", tags=["disputes"])


@router.get("", response_model=DisputeList)
async def list_disputes(
    principal: PrincipalDep,
    services: ServicesDep,
    status: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DisputeList:
    """Disputes, newest first (shop key); `status` as Stripe names it (`needs_response`, …)."""
    require_shop(principal)
    async with services.db.sessions() as session:
        rows = await repository.listing(session, status=status, after=cursor, limit=limit + 1)
    page = list(rows[:limit])
    return DisputeList(
        data=[DisputeOut.model_validate(d) for d in page],
        next_cursor=page[-1].id if len(rows) > limit else None,
    )


@router.get("/{dispute_id}", response_model=DisputeOut)
async def get_dispute(
    dispute_id: str, principal: PrincipalDep, services: ServicesDep
) -> DisputeOut:
    require_shop(principal)
    async with services.db.sessions() as session:
        dispute = await repository.get(session, dispute_id)
    if dispute is None:
        raise NotFound(f"No dispute {dispute_id!r}.", param="dispute_id")
    return DisputeOut.model_validate(dispute)


@router.post("/{dispute_id}/evidence", response_model=DisputeOut)
async def submit_evidence(
    dispute_id: str, body: DisputeEvidence, principal: PrincipalDep, services: ServicesDep
) -> DisputeOut:
    """Send evidence to Stripe (shop key); with `submit: true` it goes to the bank."""
    require_shop(principal)
    dispute = await services.disputes.submit_evidence(dispute_id, body.fields(), submit=body.submit)
    return DisputeOut.model_validate(dispute)
