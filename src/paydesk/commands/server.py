"""The long-running commands: the API, the worker, the offline sandbox, the demo; and the
database's migrations."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated

import typer

from paydesk.commands.support import run_with_services, settings_or_exit
from paydesk.composition import Services
from paydesk.logs import configure_logging
from paydesk.money import format_amount

server_app = typer.Typer()
db_app = typer.Typer(help="The database.", no_args_is_help=True)

Host = Annotated[str, typer.Option(help="Address to listen on.")]


@server_app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="API processes sharing the port (PostgreSQL only above 1).")
    ] = 1,
) -> None:
    """The HTTP API."""
    import uvicorn

    from paydesk.app import create_served_app, create_served_app_from_env
    from paydesk.edge.server import serve_processes, uvicorn_config
    from paydesk.migrate import upgrade

    settings = settings_or_exit()
    sqlite = settings.database_url.startswith("sqlite")
    if sqlite and workers > 1:
        typer.secho(
            "paydesk: SQLite has one writer, so serve runs one process on it: use PostgreSQL "
            "(PAYDESK_DATABASE_URL=postgresql://…) for --workers above 1.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    configure_logging(settings.log_level)
    if sqlite:
        upgrade(settings.database_url)
    if workers == 1:
        # SQLite has one writer: the API process applies the inbox itself. On PostgreSQL
        # run `paydesk worker` processes beside it, as many as needed.
        uvicorn.Server(uvicorn_config(create_served_app(settings), host=host, port=port)).run()
        return
    # Each process reads the same environment and builds its own app, database pool and
    # worker (none by default on PostgreSQL) once it has started.
    factory = f"{create_served_app_from_env.__module__}:{create_served_app_from_env.__name__}"
    raise typer.Exit(serve_processes(factory, workers=workers, host=host, port=port))


@server_app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Apply what is due, then stop.")] = False,
) -> None:
    """Apply the inbox, read missed events from Stripe, reconcile stuck payments, and read
    the balance transactions and payout contents the ledger lacks."""
    settings = settings_or_exit()
    configure_logging(settings.log_level)

    async def run(services: Services) -> None:
        if once:
            typer.echo(f"applied {await services.processor.drain()} event(s)")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        checkpointer = services.db.checkpointer()
        background = [checkpointer.run(stop)] if checkpointer is not None else []
        notifications = services.delivery()
        try:
            await asyncio.gather(
                services.worker(notifications=notifications).run(stop), *background
            )
        finally:
            await notifications.close()

    run_with_services(run, settings=settings)


@server_app.command()
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
    latency_ms: Annotated[
        int,
        typer.Option(
            min=0, help="Milliseconds every Stripe API call (/v1/…) waits, as Stripe takes 200-500."
        ),
    ] = 0,
    latency_jitter_ms: Annotated[
        int, typer.Option(min=0, help="Up to this many milliseconds more, at random per call.")
    ] = 0,
    payout_account: Annotated[
        str,
        typer.Option(
            help="The account's bank account: one of Stripe's failing test numbers "
            "(000111111113 closed, 000111111116 no account, …) makes every payout fail."
        ),
    ] = "000123456789",
) -> None:
    """The offline Stripe sandbox on its own; it can misbehave on request (see also
    POST /_sandbox/chaos and /_sandbox/chaos/webhooks) and answer as slowly as Stripe."""
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
        latency_ms=latency_ms,
        latency_jitter_ms=latency_jitter_ms,
        payout_account_number=payout_account,
    )
    run_sandbox(host=host, port=port, config=config)


@server_app.command("sandbox-payouts")
def sandbox_payouts(
    sandbox_url: Annotated[
        str, typer.Option(help="The sandbox's address.")
    ] = "http://127.0.0.1:12111",
) -> None:
    """Make the offline sandbox's automatic payouts now, of what is available to pay out
    (`paydesk sandbox-clock 3d` first makes a charge's money available)."""
    import httpx

    try:
        answer = httpx.post(f"{sandbox_url.rstrip('/')}/_sandbox/payouts/run")
    except httpx.HTTPError as exc:
        typer.secho(f"paydesk: no sandbox at {sandbox_url}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    made = answer.json()["data"]
    if not made:
        typer.echo("nothing available to pay out")
    for payout in made:
        amount = format_amount(payout["amount"], payout["currency"])
        typer.echo(f"{payout['id']}  {amount}  {payout['status']}")


# "90", "15m", "6h", "3d": seconds, minutes, hours, days.
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@server_app.command("sandbox-clock")
def sandbox_clock(
    duration: Annotated[str, typer.Argument(help="How far ahead: 90 (seconds), 15m, 6h, 3d.")],
    sandbox_url: Annotated[
        str, typer.Option(help="The sandbox's address.")
    ] = "http://127.0.0.1:12111",
) -> None:
    """Move the offline sandbox's clock ahead: what Stripe would do by then (a pending
    refund settling, a dispute opening) happens now."""
    import httpx

    unit = _DURATION_UNITS.get(duration[-1:])
    number = duration[:-1] if unit is not None else duration
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        typer.secho(
            f"paydesk: {duration!r} is not a duration (90, 15m, 6h, 3d)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2) from None
    try:
        answer = httpx.post(
            f"{sandbox_url.rstrip('/')}/_sandbox/clock/advance", json={"seconds": seconds}
        )
    except httpx.HTTPError as exc:
        typer.secho(f"paydesk: no sandbox at {sandbox_url}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    body = answer.json()
    if answer.status_code != 200:
        typer.secho(f"paydesk: {body['error']['message']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    typer.echo(
        f"sandbox clock {body['clock_ahead_seconds']:g} s ahead: {body['ran']} scheduled "
        f"{'thing' if body['ran'] == 1 else 'things'} ran, {body['scheduled']} still waiting"
    )


@server_app.command()
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

    upgrade(settings_or_exit(demo=True).database_url)
    typer.echo("database is up to date")
