"""one open invitation per address and org

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

Inviting an address again made a second invitation, two links that both let the person in. Now it
renews the open one, and a unique index over the invitations neither accepted nor withdrawn keeps it
so under concurrent requests. Before the index is built, the older of any open duplicates are
withdrawn (the newest link, the one most recently mailed, keeps working).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "uq_invitations_open_email"
_OPEN = "accepted_at IS NULL AND revoked_at IS NULL"


def upgrade() -> None:
    op.execute(
        sa.text(
            f"UPDATE invitations SET revoked_at = CURRENT_TIMESTAMP WHERE {_OPEN} AND id NOT IN ("
            f"SELECT MAX(id) FROM invitations WHERE {_OPEN} GROUP BY org_id, email)"
        )
    )
    op.create_index(
        _INDEX,
        "invitations",
        ["org_id", "email"],
        unique=True,
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="invitations")
