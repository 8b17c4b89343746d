"""`paydesk keys …`: the shop's secret API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from paydesk.commands.support import run_with_services
from paydesk.composition import Services

keys_app = typer.Typer(help="Shop API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Option(help="What the key is for.")] = "shop") -> None:
    """Print a new shop API key (shown once)."""

    async def run(services: Services) -> str:
        plaintext, _ = await services.auth.create_key(name)
        return plaintext

    typer.echo(run_with_services(run))


@keys_app.command("list")
def keys_list() -> None:
    """Every shop key: its prefix, name, when it was made and last used, and whether it is
    revoked (the key itself is never shown again)."""

    async def run(services: Services) -> None:
        for key in await services.auth.list_keys():
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
            typer.echo(
                f"{key.prefix}…  {key.name:<20} created {key.created_at:%Y-%m-%d %H:%M}"
                f"  last used {used}  {state}"
            )

    run_with_services(run)


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, as `keys list` prints it.")],
) -> None:
    """Revoke a shop key: every request with it is refused (401) from now on, in every
    paydesk process."""

    async def run(services: Services) -> str:
        key = await services.auth.revoke(prefix)
        return f"{key.prefix}… ({key.name})"

    typer.echo(f"key {run_with_services(run)} revoked")
