"""`paydesk notifications …`: the outbox from the command line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from paydesk.config import Settings
from paydesk.db import Database, create_engine
from paydesk.errors import ConfigurationError, PaydeskError
from paydesk.notifications import outbox
from paydesk.notifications.delivery import LEASE, NotificationDelivery
from paydesk.notifications.models import NotificationStatus

notifications_app = typer.Typer(
    help="E-mails to customers and webhooks to the shop.", no_args_is_help=True
)

T = TypeVar("T")


@notifications_app.command("list")
def notifications_list(
    status: Annotated[
        NotificationStatus | None, typer.Option(help="Only notifications in this status.")
    ] = None,
    payment_id: Annotated[str | None, typer.Option(help="Only this payment's.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """Notifications, newest first, with their attempts and last error."""

    async def run(db: Database) -> None:
        async with db.sessions() as session:
            rows = await outbox.list_notifications(
                session, status=status, payment_id=payment_id, limit=limit
            )
        for n in rows:
            typer.echo(
                f"{n.id}  {n.channel:<7} {n.kind:<26} {n.status:<9} attempts={n.attempts}"
                f"  {n.created_at:%Y-%m-%d %H:%M:%S}  {n.recipient}  {n.last_error or ''}".rstrip()
            )

    _run(run)


@notifications_app.command("retry")
def notifications_retry(notification_id: str) -> None:
    """Send a dead or pending notification again (the worker sends it)."""

    async def run(db: Database) -> None:
        async with db.transaction() as session:
            row = await outbox.retry_notification(session, notification_id, lease=LEASE)
        typer.echo(f"notification {row.id} is due now")

    _run(run)


@notifications_app.command("send")
def notifications_send() -> None:
    """Send every notification that is due, then stop (`paydesk worker` sends them as it runs)."""
    settings = _settings()

    async def run(db: Database) -> None:
        delivery = NotificationDelivery.from_settings(db, settings)
        try:
            typer.echo(f"sent {await delivery.drain()} notification(s)")
        finally:
            await delivery.close()

    _run(run)


def _settings() -> Settings:
    try:
        return Settings.from_env(demo=True)
    except ConfigurationError as exc:
        typer.secho(f"paydesk: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def _run(command: Callable[[Database], Awaitable[T]]) -> T:
    settings = _settings()

    async def main() -> T:
        db = Database(create_engine(settings.database_url))
        try:
            return await command(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except PaydeskError as error:
        typer.secho(f"paydesk: {error.message} ({error.code})", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
