"""`paydesk …`: the commands operators and newcomers run (each group in paydesk/commands/)."""

from __future__ import annotations

import typer

from paydesk.commands.events import events_app
from paydesk.commands.keys import keys_app
from paydesk.commands.notifications import notifications_app
from paydesk.commands.operators import operators_app
from paydesk.commands.payments import disputes_app, payments_app
from paydesk.commands.payouts import payouts_app
from paydesk.commands.server import db_app, server_app

app = typer.Typer(
    help="paydesk: the payment desk of an online shop, on Stripe.", no_args_is_help=True
)
app.registered_commands += server_app.registered_commands + payments_app.registered_commands
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(events_app, name="events")
app.add_typer(disputes_app, name="disputes")
app.add_typer(payouts_app, name="payouts")
app.add_typer(notifications_app, name="notifications")
app.add_typer(operators_app, name="operators")


def main() -> None:
    app(prog_name="paydesk")


if __name__ == "__main__":
    main()
