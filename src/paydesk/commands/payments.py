"""Operator work on payments from the command line: reconcile, refund, capture, cancel,
and the disputes."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from paydesk.commands.support import run_with_services, settings_or_exit
from paydesk.composition import Services
from paydesk.money import format_amount

payments_app = typer.Typer()
disputes_app = typer.Typer(help="Disputes.", no_args_is_help=True)


@payments_app.command("reconcile")
def reconcile_command(
    older_than_minutes: Annotated[
        float, typer.Option(help="Check payments waiting longer than this.")
    ] = 15,
) -> None:
    """Ask Stripe about every payment stuck pending or requiring action, every one
    processing longer than PAYDESK_RECONCILE_PROCESSING_AFTER (a bank debit takes days),
    and about refunds whose request to Stripe got no answer."""

    async def run(services: Services) -> None:
        age = timedelta(minutes=older_than_minutes)
        checked = await services.payments.reconcile(older_than=age)
        typer.echo(f"checked {checked} payment(s) with Stripe")
        settled = await services.refunds.settle_unanswered(older_than=age)
        typer.echo(f"settled {settled} refund(s) Stripe never answered for")

    run_with_services(run, settings=settings_or_exit())


@payments_app.command("refund")
def refund_command(
    payment_id: str,
    amount: Annotated[
        int | None, typer.Option(help="Minor units; without it, all that is refundable.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="requested_by_customer, duplicate, …")] = None,
) -> None:
    """Refund a payment, in full or in part."""

    async def run(services: Services) -> None:
        refund = await services.refunds.refund(payment_id, amount=amount, reason=reason)
        typer.echo(
            f"refund {refund.id}: {format_amount(refund.amount, refund.currency)} {refund.status}"
        )

    run_with_services(run, settings=settings_or_exit())


@payments_app.command("capture")
def capture_command(
    payment_id: str,
    amount: Annotated[int | None, typer.Option(help="Minor units; without it, all.")] = None,
) -> None:
    """Capture an authorized payment; the rest of the authorization is released."""

    async def run(services: Services) -> None:
        payment = (await services.payments.capture(payment_id, amount=amount)).payment
        typer.echo(f"payment {payment.id} is {payment.status}")

    run_with_services(run, settings=settings_or_exit())


@payments_app.command("cancel")
def cancel_command(payment_id: str) -> None:
    """Release an uncaptured payment, or abandon an unpaid one."""

    async def run(services: Services) -> None:
        payment = (await services.payments.cancel(payment_id)).payment
        typer.echo(f"payment {payment.id} is {payment.status}")

    run_with_services(run, settings=settings_or_exit())


@disputes_app.command("list")
def disputes_list(
    status: Annotated[str | None, typer.Option(help="needs_response, under_review, won, …")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """Disputes, newest first, with their evidence due dates."""

    async def run(services: Services) -> None:
        for d in await services.disputes.list_disputes(status=status, after=None, limit=limit):
            due = f"evidence due {d.evidence_due_by:%Y-%m-%d}" if d.evidence_due_by else ""
            typer.echo(
                f"{d.id}  {d.status:<22} {format_amount(d.amount, d.currency):>14}  "
                f"payment {d.payment_id}  {d.reason or ''}  {due}".rstrip()
            )

    run_with_services(run)
