"""`paydesk …`: the commands operators and newcomers run."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer

from paydesk.config import Settings
from paydesk.errors import ConfigurationError
from paydesk.logs import configure_logging

app = typer.Typer(
    help="paydesk: the payment desk of an online shop, on Stripe.", no_args_is_help=True
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
keys_app = typer.Typer(help="Shop API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")

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
    from paydesk.migrate import upgrade

    settings = _settings()
    configure_logging(settings.log_level)
    if settings.database_url.startswith("sqlite"):
        upgrade(settings.database_url)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


@app.command()
def sandbox(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 12111,
) -> None:
    """The offline Stripe sandbox on its own."""
    from paydesk.sandbox.server import run_sandbox

    configure_logging()
    run_sandbox(host=host, port=port)


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
    from paydesk.db import Database, create_engine

    settings = _settings(demo=True)

    async def create() -> str:
        db = Database(create_engine(settings.database_url))
        try:
            async with db.transaction() as session:
                plaintext, _ = await create_api_key(session, name)
                return plaintext
        finally:
            await db.dispose()

    typer.echo(asyncio.run(create()))


def main() -> None:
    app(prog_name="paydesk")


if __name__ == "__main__":
    main()
