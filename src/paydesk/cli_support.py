"""What the command groups share: settings from the environment, and a database for a run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from paydesk.config import Settings
from paydesk.db import Database
from paydesk.errors import ConfigurationError, PaydeskError

T = TypeVar("T")


def settings_or_exit() -> Settings:
    try:
        return Settings.from_env(demo=True)
    except ConfigurationError as exc:
        typer.secho(f"paydesk: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def run_with_database(command: Callable[[Database], Awaitable[T]]) -> T:
    """Runs `command` on the configured database; a paydesk error ends the run with its message."""
    settings = settings_or_exit()

    async def main() -> T:
        db = Database.connect(
            settings.database_url, timeout_seconds=settings.database_timeout_seconds
        )
        try:
            return await command(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except PaydeskError as error:
        typer.secho(f"paydesk: {error.message} ({error.code})", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
