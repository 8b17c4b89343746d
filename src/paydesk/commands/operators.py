"""`paydesk operators …`: dashboard accounts."""

from __future__ import annotations

from typing import Annotated

import typer

from paydesk.commands.support import fail, run_with_services
from paydesk.composition import Services

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

    async def run(services: Services) -> str:
        return (await services.operators.create(email, password)).email

    typer.echo(f"operator {run_with_services(run)} created")


@operators_app.command("set-password")
def operators_set_password(email: str, password: Password) -> None:
    """Give an operator a new password; this also unlocks the account and signs it out."""

    async def run(services: Services) -> str | None:
        operator = await services.operators.set_password(email, password)
        return None if operator is None else operator.email

    changed = run_with_services(run)
    if changed is None:
        raise fail(f"no operator {email}")
    typer.echo(f"password of {changed} changed")
