"""`paydesk operators …`: dashboard accounts."""

from __future__ import annotations

from typing import Annotated

import typer

from paydesk.cli_support import run_with_database
from paydesk.db import Database
from paydesk.operators.service import create_operator, set_password

operators_app = typer.Typer(help="Operators who sign in to the dashboard.", no_args_is_help=True)

Password = Annotated[
    str,
    typer.Option(
        prompt=True,
        confirmation_prompt=True,
        hide_input=True,
        envvar="PAYDESK_OPERATOR_PASSWORD",
        help="At least 12 characters; asked for when not given.",
    ),
]


@operators_app.command("create")
def operators_create(email: str, password: Password) -> None:
    """Create an operator who can sign in at /dashboard."""

    async def run(db: Database) -> str:
        async with db.transaction() as session:
            operator = await create_operator(session, email, password)
            return operator.email

    typer.echo(f"operator {run_with_database(run)} created")


@operators_app.command("set-password")
def operators_set_password(email: str, password: Password) -> None:
    """Give an operator a new password; this also unlocks the account and signs it out."""

    async def run(db: Database) -> str | None:
        async with db.transaction() as session:
            operator = await set_password(session, email, password)
            return None if operator is None else operator.email

    changed = run_with_database(run)
    if changed is None:
        typer.secho(f"paydesk: no operator {email}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(f"password of {changed} changed")
