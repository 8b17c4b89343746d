"""Each payment records how it is paid: the payment method's type and its safe details
(a card's brand and last four digits; a bank account's country, last four and SEPA
mandate; the bank of an iDEAL or Bancontact payment), never a full number.

Revision ID: 5d1e7a9c3f20
Revises: 3f8a0c6d2b71
Create Date: 2026-12-02 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d1e7a9c3f20"
down_revision: str | None = "3f8a0c6d2b71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("method_type", 32),
    ("method_brand", 32),
    ("method_bank", 100),
    ("method_last4", 4),
    ("method_country", 2),
    ("method_mandate", 255),
)


def upgrade() -> None:
    for name, length in _COLUMNS:
        op.add_column("payments", sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for name, _ in reversed(_COLUMNS):
        op.drop_column("payments", name)
