"""`paydesk notifications …`: the outbox from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from paydesk.commands.support import run_with_services
from paydesk.composition import Services
from paydesk.notifications.models import NotificationStatus

notifications_app = typer.Typer(
    help="E-mails to customers and webhooks to the shop.", no_args_is_help=True
)


@notifications_app.command("list")
def notifications_list(
    status: Annotated[
        NotificationStatus | None, typer.Option(help="Only notifications in this status.")
    ] = None,
    payment_id: Annotated[str | None, typer.Option(help="Only this payment's.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """Notifications, newest first, with their attempts and last error."""

    async def run(services: Services) -> None:
        rows = await services.notifications.list_notifications(
            status=status, payment_id=payment_id, limit=limit
        )
        for n in rows:
            typer.echo(
                f"{n.id}  {n.channel:<7} {n.kind:<26} {n.status:<9} attempts={n.attempts}"
                f"  {n.created_at:%Y-%m-%d %H:%M:%S}  {n.recipient}  {n.last_error or ''}".rstrip()
            )

    run_with_services(run)


@notifications_app.command("retry")
def notifications_retry(notification_id: str) -> None:
    """Send a dead or pending notification again (the worker sends it)."""

    async def run(services: Services) -> str:
        return (await services.notifications.retry(notification_id)).id

    typer.echo(f"notification {run_with_services(run)} is due now")


@notifications_app.command("send")
def notifications_send() -> None:
    """Send every notification that is due, then stop (`paydesk worker` sends them as it runs)."""

    async def run(services: Services) -> int:
        delivery = services.delivery()
        try:
            return await delivery.drain()
        finally:
            await delivery.close()

    typer.echo(f"sent {run_with_services(run)} notification(s)")
