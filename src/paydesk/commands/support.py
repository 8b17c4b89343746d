"""What every command shares: settings from the environment, and paydesk's services for
the length of one run, built by the composition root and closed after it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from paydesk.composition import Services, build
from paydesk.config import Settings
from paydesk.errors import ConfigurationError, PaydeskError

T = TypeVar("T")


def settings_or_exit(*, demo: bool = False) -> Settings:
    """The settings, or the one sentence saying what to fix (exit status 2). With `demo`,
    a command that never calls Stripe runs without a Stripe key."""
    try:
        return Settings.from_env(demo=demo)
    except ConfigurationError as exc:
        typer.secho(f"paydesk: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def fail(message: str) -> typer.Exit:
    """Says what went wrong on stderr; the caller raises the exit (status 1)."""
    typer.secho(f"paydesk: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


def run_with_services(
    command: Callable[[Services], Awaitable[T]], *, settings: Settings | None = None
) -> T:
    """Runs `command` over paydesk's services (for `settings`, else those of the
    environment, Stripe key optional); a paydesk error ends the run with its message."""
    settings = settings or settings_or_exit(demo=True)

    async def main() -> T:
        services = build(settings)
        try:
            return await command(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except PaydeskError as error:
        raise fail(f"{error.message} ({error.code})") from None
