"""`paydesk payouts …`: what Stripe paid out to the shop's bank, and what each paid."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import typer

from paydesk.commands.support import run_with_services, settings_or_exit
from paydesk.composition import Services
from paydesk.db import utcnow
from paydesk.money import format_amount
from paydesk.payouts.repository import PayoutFilter
from paydesk.payouts.schemas import payout_csv, status_in_words

payouts_app = typer.Typer(help="Payouts to the shop's bank account.", no_args_is_help=True)


@payouts_app.command("sync")
def payouts_sync(
    days: Annotated[
        float | None, typer.Option(help="Only payouts made in the last this many days.")
    ] = None,
) -> None:
    """Read Stripe's payouts (those a lost webhook never told), what each paid out, and
    the balance transactions the ledger still lacks."""

    async def run(services: Services) -> None:
        since: datetime | None = None if days is None else utcnow() - timedelta(days=days)
        result = await services.payouts.sync(since=since)
        typer.echo(f"read {result.payouts} payout(s) from Stripe")
        typer.echo(f"read what {result.contents_read} payout(s) paid out")
        settled = await services.settler.settle()
        typer.echo(f"read {settled} balance transaction(s) for the ledger")

    run_with_services(run, settings=settings_or_exit())


@payouts_app.command("list")
def payouts_list(
    status: Annotated[str | None, typer.Option(help="pending, in_transit, paid, failed, …")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """Payouts, newest first: amount, status, arrival date, and whether they reconcile."""

    async def run(services: Services) -> None:
        views, _ = await services.payouts.list_views(
            PayoutFilter(status=status), after_id=None, limit=limit
        )
        for view in views:
            p = view.payout
            reconciled = {True: "reconciled", False: "DOES NOT ADD UP", None: ""}[view.reconciled]
            typer.echo(
                f"{p.id}  {format_amount(p.amount, p.currency):>14}  "
                f"arrives {p.arrival_date:%Y-%m-%d}  "
                f"{status_in_words(p.status, p.failure_message)}  {reconciled}".rstrip()
            )

    run_with_services(run)


@payouts_app.command("show")
def payouts_show(payout_id: str) -> None:
    """What one payout paid out, as CSV (its `net` column sums to the deposit)."""

    async def run(services: Services) -> str:
        view = await services.payouts.view(payout_id)
        return payout_csv(view.transactions or [])

    typer.echo(run_with_services(run), nl=False)
