"""What endpoints receive: the app's services (built once by the app factory) and the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from paydesk.auth.service import Principal, authenticate
from paydesk.config import Settings
from paydesk.db import Database
from paydesk.disputes.service import DisputeService
from paydesk.gateway.base import Gateway
from paydesk.payments.service import PaymentService
from paydesk.refunds.service import RefundService
from paydesk.webhooks.inbox import InboxWriter
from paydesk.webhooks.receiver import WebhookStats


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    gateway: Gateway
    payments: PaymentService
    refunds: RefundService
    disputes: DisputeService
    inbox: InboxWriter
    webhook_stats: WebhookStats


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_principal(
    services: ServicesDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    async with services.db.sessions() as session:
        return await authenticate(session, authorization)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
