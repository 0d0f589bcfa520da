"""deliveries deduplicated by the worker: the one-per-body index leaves pending rows out

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

The unique constraint on (app_pk, body_sha256) made every intake commit write one random page of
that index per delivery (sha256 hashes have no order), most of the receiver's database time. It
becomes a unique index over the rows the worker has seen (``status <> 'pending'``): the intake only
appends, and the worker folds a pending copy of a body into the row already kept for it.

Existing rows are all unique already, so the new index builds without a conflict. On PostgreSQL it
is built CONCURRENTLY before the constraint is dropped, so intake goes on meanwhile. On SQLite the
table is rebuilt (a table's UNIQUE constraint cannot be dropped in place), with foreign keys off
for the rebuild (migrations/env.py) so that no change that references a delivery is touched.

Downgrading restores the constraint; run the worker first, as a pending copy of a body that is
kept already would stop it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "webhook_deliveries"
_OLD = "uq_webhook_deliveries_app_pk_body_sha256"
_NEW = "uq_webhook_deliveries_app_body"
_DEDUPLICATED = "status <> 'pending'"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                _NEW,
                _TABLE,
                ["app_pk", "body_sha256"],
                unique=True,
                postgresql_where=sa.text(_DEDUPLICATED),
                postgresql_concurrently=True,
            )
            op.drop_constraint(_OLD, _TABLE, type_="unique")
        return
    with op.batch_alter_table(_TABLE, recreate="always") as batch:
        batch.drop_constraint(_OLD, type_="unique")
    op.create_index(_NEW, _TABLE, ["app_pk", "body_sha256"], unique=True, sqlite_where=sa.text(_DEDUPLICATED))


def downgrade() -> None:
    op.drop_index(_NEW, table_name=_TABLE)
    with op.batch_alter_table(_TABLE) as batch:
        batch.create_unique_constraint(_OLD, ["app_pk", "body_sha256"])
