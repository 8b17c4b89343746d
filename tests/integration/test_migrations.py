from __future__ import annotations

from alembic import command

from paydesk.migrate import alembic_config


def test_models_and_migrations_agree(database_url: str) -> None:
    """`alembic check`: a migrated database has every table, column and index the models
    declare, so a model change without its migration fails here."""
    command.check(alembic_config(database_url))
