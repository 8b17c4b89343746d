"""`paydesk …`: the commands operators and newcomers run."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import typer

from paydesk.cli_support import run_with_database
from paydesk.config import Settings
from paydesk.db import Database
from paydesk.disputes import repository as disputes_repository
from paydesk.errors import ConfigurationError, PaydeskError
from paydesk.gateway.stripe_gateway import StripeGateway
from paydesk.logs import configure_logging
from paydesk.money import format_amount
from paydesk.notifications.cli import notifications_app
from paydesk.notifications.delivery import NotificationDelivery
from paydesk.operators.cli import operators_app
from paydesk.payments.reconcile import reconcile
from paydesk.payments.service import PaymentService
from paydesk.refunds.service import RefundService
from paydesk.webhooks.backfill import backfill
from paydesk.webhooks.models import EventStatus
from paydesk.webhooks.operations import list_events, replay
from paydesk.webhooks.processor import InboxProcessor
from paydesk.worker.runner import Worker, WorkerSchedule

app = typer.Typer(
    help="paydesk: the payment desk of an online shop, on Stripe.", no_args_is_help=True
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
keys_app = typer.Typer(help="Shop API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
events_app = typer.Typer(help="Stripe events in the inbox.", no_args_is_help=True)
disputes_app = typer.Typer(help="Disputes.", no_args_is_help=True)
app.add_typer(disputes_app, name="disputes")
app.add_typer(keys_app, name="keys")
app.add_typer(events_app, name="events")
app.add_typer(notifications_app, name="notifications")
app.add_typer(operators_app, name="operators")

Host = Annotated[str, typer.Option(help="Address to listen on.")]


def _settings(*, demo: bool = False) -> Settings:
    try:
        return Settings.from_env(demo=demo)
    except ConfigurationError as exc:
        typer.secho(f"paydesk: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """The HTTP API."""
    import uvicorn

    from paydesk.app import create_app
    from paydesk.edge.server import uvicorn_config
    from paydesk.migrate import upgrade

    settings = _settings()
    configure_logging(settings.log_level)
    if settings.database_url.startswith("sqlite"):
        upgrade(settings.database_url)
    # SQLite has one writer: the API process applies the inbox itself. On PostgreSQL run
    # `paydesk worker` processes beside it, as many as needed.
    worker = WorkerSchedule() if settings.runs_worker_in_process else None
    uvicorn.Server(uvicorn_config(create_app(settings, worker=worker), host=host, port=port)).run()


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Apply what is due, then stop.")] = False,
) -> None:
    """Apply the inbox, read missed events from Stripe, reconcile stuck payments."""
    settings = _settings()
    configure_logging(settings.log_level)

    async def run(tools: Tools) -> None:
        processor = InboxProcessor(tools.db)
        if once:
            typer.echo(f"applied {await processor.drain()} event(s)")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        checkpointer = tools.db.checkpointer()
        background = [checkpointer.run(stop)] if checkpointer is not None else []
        notifications = NotificationDelivery.from_settings(tools.db, settings)
        in_loop = Worker(
            processor, tools.payments, livemode=settings.livemode, notifications=notifications
        )
        try:
            await asyncio.gather(in_loop.run(stop), *background)
        finally:
            await notifications.close()

    _run(settings, run)


@events_app.command("list")
def events_list(
    status: Annotated[EventStatus | None, typer.Option(help="Only events in this status.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """Stored Stripe events, newest first."""
    settings = _settings(demo=True)

    async def run(tools: Tools) -> None:
        for event in await list_events(tools.db, status=status, limit=limit):
            problem = event.flag or event.last_error or ""
            typer.echo(
                f"{event.id}  {event.type:<36} {event.status:<9} attempts={event.attempts}"
                f"  {event.received_at:%Y-%m-%d %H:%M:%S}  {problem}".rstrip()
            )

    _run(settings, run)


@events_app.command("replay")
def events_replay(
    event_ids: Annotated[list[str] | None, typer.Argument(help="Stripe event ids.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed and dead event.")] = False,
) -> None:
    """Make events due again (they are applied by the worker)."""
    if not event_ids and not failed:
        typer.secho("paydesk: name event ids, or pass --failed.", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    settings = _settings(demo=True)

    async def run(tools: Tools) -> None:
        count = await replay(tools.db, event_ids=event_ids or [], failed=failed)
        typer.echo(f"{count} event(s) will be applied again")

    _run(settings, run)


@events_app.command("backfill")
def events_backfill() -> None:
    """Read Stripe's event list from the stored cursor into the inbox."""
    settings = _settings()

    async def run(tools: Tools) -> None:
        read = await backfill(tools.db, tools.payments.gateway, livemode=settings.livemode)
        typer.echo(f"read {read} event(s) from Stripe")

    _run(settings, run)


@app.command("reconcile")
def reconcile_command(
    older_than_minutes: Annotated[
        float, typer.Option(help="Check payments waiting longer than this.")
    ] = 15,
) -> None:
    """Ask Stripe about every payment stuck pending, processing or requiring action, and
    about refunds whose request to Stripe got no answer."""
    settings = _settings()

    async def run(tools: Tools) -> None:
        age = timedelta(minutes=older_than_minutes)
        checked = await reconcile(tools.payments, older_than=age)
        typer.echo(f"checked {checked} payment(s) with Stripe")
        refunds = RefundService(tools.db, tools.payments.gateway)
        settled = await refunds.settle_unanswered(older_than=age)
        typer.echo(f"settled {settled} refund(s) Stripe never answered for")

    _run(settings, run)


@app.command("refund")
def refund_command(
    payment_id: str,
    amount: Annotated[
        int | None, typer.Option(help="Minor units; without it, all that is refundable.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="requested_by_customer, duplicate, …")] = None,
) -> None:
    """Refund a payment, in full or in part."""
    settings = _settings()

    async def run(tools: Tools) -> None:
        refund = await RefundService(tools.db, tools.payments.gateway).refund(
            payment_id, amount=amount, reason=reason
        )
        typer.echo(
            f"refund {refund.id}: {format_amount(refund.amount, refund.currency)} {refund.status}"
        )

    _run(settings, run)


@app.command("capture")
def capture_command(
    payment_id: str,
    amount: Annotated[int | None, typer.Option(help="Minor units; without it, all.")] = None,
) -> None:
    """Capture an authorized payment; the rest of the authorization is released."""
    settings = _settings()

    async def run(tools: Tools) -> None:
        payment = (await tools.payments.capture(payment_id, amount=amount)).payment
        typer.echo(f"payment {payment.id} is {payment.status}")

    _run(settings, run)


@app.command("cancel")
def cancel_command(payment_id: str) -> None:
    """Release an uncaptured payment, or abandon an unpaid one."""
    settings = _settings()

    async def run(tools: Tools) -> None:
        payment = (await tools.payments.cancel(payment_id)).payment
        typer.echo(f"payment {payment.id} is {payment.status}")

    _run(settings, run)


@disputes_app.command("list")
def disputes_list(
    status: Annotated[str | None, typer.Option(help="needs_response, under_review, won, …")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """Disputes, newest first, with their evidence due dates."""
    settings = _settings(demo=True)

    async def run(tools: Tools) -> None:
        async with tools.db.sessions() as session:
            rows = await disputes_repository.listing(
                session, status=status, after=None, limit=limit
            )
        for d in rows:
            due = f"evidence due {d.evidence_due_by:%Y-%m-%d}" if d.evidence_due_by else ""
            typer.echo(
                f"{d.id}  {d.status:<22} {format_amount(d.amount, d.currency):>14}  "
                f"payment {d.payment_id}  {d.reason or ''}  {due}".rstrip()
            )

    _run(settings, run)


@dataclass
class Tools:
    db: Database
    payments: PaymentService


def _run(settings: Settings, command: Callable[[Tools], Awaitable[None]]) -> None:
    """Runs an async command with a database and a Stripe gateway, closed afterwards."""

    async def main() -> None:
        db = Database.connect(
            settings.database_url, timeout_seconds=settings.database_timeout_seconds
        )
        gateway = StripeGateway(
            settings.stripe_secret_key,
            api_base=settings.stripe_api_base,
            max_network_retries=settings.stripe_max_retries,
            timeout_seconds=settings.stripe_timeout_seconds,
        )
        try:
            await command(Tools(db, PaymentService(db, gateway)))
        finally:
            await gateway.close()
            await db.dispose()

    try:
        asyncio.run(main())
    except PaydeskError as error:
        typer.secho(f"paydesk: {error.message} ({error.code})", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


@app.command()
def sandbox(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 12111,
    webhook: Annotated[
        list[str] | None,
        typer.Option(help="URL=whsec_… : post every event there, signed with that secret."),
    ] = None,
    drop_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of webhook deliveries lost.")
    ] = 0.0,
    duplicate_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share delivered twice.")
    ] = 0.0,
    shuffle_window: Annotated[
        float, typer.Option(min=0.0, help="Seconds within which deliveries are reordered.")
    ] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Make the misbehaviour repeatable.")] = None,
) -> None:
    """The offline Stripe sandbox on its own; it can misbehave on request (see also
    POST /_sandbox/chaos and /_sandbox/chaos/webhooks)."""
    from paydesk.sandbox import SandboxConfig, WebhookEndpointConfig
    from paydesk.sandbox.server import run_sandbox

    endpoints = []
    for spec in webhook or []:
        url, _, secret = spec.rpartition("=")
        if not url or not secret.startswith("whsec_"):
            typer.secho("paydesk: --webhook takes URL=whsec_…", fg=typer.colors.RED, err=True)
            raise typer.Exit(2)
        endpoints.append(WebhookEndpointConfig(url=url, secret=secret))
    configure_logging()
    config = SandboxConfig(
        webhook_endpoints=tuple(endpoints),
        webhook_drop_rate=drop_rate,
        webhook_duplicate_rate=duplicate_rate,
        webhook_shuffle_window_seconds=shuffle_window,
        webhook_chaos_seed=seed,
    )
    run_sandbox(host=host, port=port, config=config)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port for paydesk's API.")] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="Port for the Stripe sandbox.")] = 12111,
) -> None:
    """Everything on loopback with embedded defaults, a scripted purchase and a walkthrough."""
    from paydesk.demo import run_demo

    # Ctrl-C is the way out: the servers have stopped cleanly by the time it surfaces here.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_demo(port=port, sandbox_port=sandbox_port))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations up to the newest."""
    from paydesk.migrate import upgrade

    settings = _settings(demo=True)
    upgrade(settings.database_url)
    typer.echo("database is up to date")


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Option(help="What the key is for.")] = "shop") -> None:
    """Print a new shop API key (shown once)."""
    from paydesk.auth.service import create_api_key

    settings = _settings(demo=True)

    async def create() -> str:
        db = Database.connect(
            settings.database_url, timeout_seconds=settings.database_timeout_seconds
        )
        try:
            async with db.transaction() as session:
                plaintext, _ = await create_api_key(session, name)
                return plaintext
        finally:
            await db.dispose()

    typer.echo(asyncio.run(create()))


@keys_app.command("list")
def keys_list() -> None:
    """Every shop key: its prefix, name, when it was made and last used, and whether it is
    revoked (the key itself is never shown again)."""
    from paydesk.auth.service import list_api_keys

    async def run(db: Database) -> None:
        async with db.sessions() as session:
            keys = await list_api_keys(session)
        for key in keys:
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
            typer.echo(
                f"{key.prefix}…  {key.name:<20} created {key.created_at:%Y-%m-%d %H:%M}"
                f"  last used {used}  {state}"
            )

    run_with_database(run)


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, as `keys list` prints it.")],
) -> None:
    """Revoke a shop key: every request with it is refused (401) from now on, in every
    paydesk process."""
    from paydesk.auth.service import revoke_api_key

    async def run(db: Database) -> str:
        async with db.transaction() as session:
            key = await revoke_api_key(session, prefix)
            return f"{key.prefix}… ({key.name})"

    typer.echo(f"key {run_with_database(run)} revoked")


def main() -> None:
    app(prog_name="paydesk")


if __name__ == "__main__":
    main()
