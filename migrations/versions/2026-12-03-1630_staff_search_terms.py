"""staff search: folded terms and how far each source is indexed

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03

The support console finds an org from a fragment of a name (accents and case ignored), a wamid or a
template name. Those live in names that need folding and in events' JSON, so they are copied, folded,
into ``staff_search_terms`` with the ids staff paste; on PostgreSQL a trigram index (pg_trgm, a
trusted extension) answers ``LIKE '%…%'`` on them and a b-tree a whole value. SQLite has no such index and scans the (small) table. The table is filled
by the staff search's indexer from the rows already stored (from the first id on), so nothing is
copied here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "staff_search_terms",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("waba_pk", ID, nullable=True),
        sa.Column("event_id", ID, nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("folded", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_staff_search_terms_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["waba_pk"], ["wabas.id"], name=op.f("fk_staff_search_terms_waba_pk_wabas"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_staff_search_terms_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_search_terms")),
    )
    op.create_index("ix_staff_search_terms_ref", "staff_search_terms", ["ref"])
    op.create_index("ix_staff_search_terms_exact", "staff_search_terms", ["folded"])
    op.create_index(
        "ix_staff_search_terms_folded",
        "staff_search_terms",
        ["folded"],
        postgresql_using="gin",
        postgresql_ops={"folded": "gin_trgm_ops"},
    )
    op.create_table(
        "staff_search_marks",
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("last_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_staff_search_marks")),
    )


def downgrade() -> None:
    op.drop_table("staff_search_marks")
    op.drop_index("ix_staff_search_terms_folded", table_name="staff_search_terms")
    op.drop_index("ix_staff_search_terms_exact", table_name="staff_search_terms")
    op.drop_index("ix_staff_search_terms_ref", table_name="staff_search_terms")
    op.drop_table("staff_search_terms")
    # pg_trgm stays: other indexes may use it, and dropping an extension is the administrator's call.
