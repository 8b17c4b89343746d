"""`paydesk events …`: Stripe's events in the inbox."""

from __future__ import annotations

from typing import Annotated

import typer

from paydesk.commands.support import run_with_services, settings_or_exit
from paydesk.composition import Services
from paydesk.webhooks.backfill import backfill
from paydesk.webhooks.models import EventStatus

events_app = typer.Typer(help="Stripe events in the inbox.", no_args_is_help=True)


@events_app.command("list")
def events_list(
    status: Annotated[EventStatus | None, typer.Option(help="Only events in this status.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """Stored Stripe events, newest first."""

    async def run(services: Services) -> None:
        for event in await services.events.list_events(status=status, limit=limit):
            problem = event.flag or event.last_error or ""
            typer.echo(
                f"{event.id}  {event.type:<36} {event.status:<9} attempts={event.attempts}"
                f"  {event.received_at:%Y-%m-%d %H:%M:%S}  {problem}".rstrip()
            )

    run_with_services(run)


@events_app.command("replay")
def events_replay(
    event_ids: Annotated[list[str] | None, typer.Argument(help="Stripe event ids.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed and dead event.")] = False,
) -> None:
    """Make events due again (they are applied by the worker)."""
    if not event_ids and not failed:
        typer.secho("paydesk: name event ids, or pass --failed.", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)

    async def run(services: Services) -> int:
        return await services.events.replay(event_ids=event_ids or [], failed=failed)

    typer.echo(f"{run_with_services(run)} event(s) will be applied again")


@events_app.command("backfill")
def events_backfill() -> None:
    """Read Stripe's event list from the stored cursor into the inbox."""
    settings = settings_or_exit()

    async def run(services: Services) -> int:
        return await backfill(services.units, services.gateway, livemode=settings.livemode)

    typer.echo(f"read {run_with_services(run, settings=settings)} event(s) from Stripe")
