"""graph: wabas connection state, subscriptions, usage

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WABA_COLUMNS = (
    ("account_review_status", sa.String(length=40)),
    ("business_verification_status", sa.String(length=40)),
    ("health_status", sa.String(length=40)),
    ("graph_status", sa.String(length=40)),
    ("currency", sa.String(length=8)),
    ("timezone_id", sa.String(length=16)),
    ("owner_business_id", sa.String(length=64)),
    ("owner_business_name", sa.String(length=300)),
    ("synced_at", sa.DateTime(timezone=True)),
    ("sync_error", sa.Text()),
    ("token_checked_at", sa.DateTime(timezone=True)),
    ("token_expires_at", sa.DateTime(timezone=True)),
    ("token_scopes", sa.JSON()),
    ("connected_at", sa.DateTime(timezone=True)),
    ("disconnected_at", sa.DateTime(timezone=True)),
    ("subscribed", sa.Boolean()),
    ("subscription_checked_at", sa.DateTime(timezone=True)),
)
PHONE_COLUMNS = (
    ("name_status", sa.String(length=40)),
    ("quality_rating", sa.String(length=40)),
    ("messaging_limit_tier", sa.String(length=40)),
    ("code_verification_status", sa.String(length=40)),
    ("throughput_level", sa.String(length=40)),
    ("graph_status", sa.String(length=40)),
    ("platform_type", sa.String(length=40)),
    ("synced_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("wabas", schema=None) as batch_op:
        for name, type_ in WABA_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.add_column(
            sa.Column("silent_after_hours", sa.Integer(), server_default="24", nullable=False)
        )
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        for name, type_ in PHONE_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column("change_id", existing_type=ID, nullable=True)

    op.create_table(
        "waba_usage",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("waba_pk", ID, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_count", sa.Integer(), nullable=False),
        sa.Column("total_cputime", sa.Integer(), nullable=False),
        sa.Column("total_time", sa.Integer(), nullable=False),
        sa.Column("regain_minutes", sa.Integer(), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_waba_usage_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["waba_pk"], ["wabas.id"], name=op.f("fk_waba_usage_waba_pk_wabas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waba_usage")),
        sa.UniqueConstraint("waba_pk", name=op.f("uq_waba_usage_waba_pk")),
    )
    with op.batch_alter_table("waba_usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waba_usage_org_id"), ["org_id"], unique=False)

    op.create_table(
        "subscription_changes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("waba_pk", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("override_callback_uri", sa.String(length=300), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_subscription_changes_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_subscription_changes_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["waba_pk"], ["wabas.id"], name=op.f("fk_subscription_changes_waba_pk_wabas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_changes")),
    )
    with op.batch_alter_table("subscription_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscription_changes_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_subscription_changes_waba_created", ["waba_pk", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subscription_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_changes_waba_created")
        batch_op.drop_index(batch_op.f("ix_subscription_changes_org_id"))
    op.drop_table("subscription_changes")
    with op.batch_alter_table("waba_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waba_usage_org_id"))
    op.drop_table("waba_usage")
    op.execute("DELETE FROM events WHERE change_id IS NULL")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column("change_id", existing_type=ID, nullable=False)
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        for name, _type in reversed(PHONE_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("wabas", schema=None) as batch_op:
        batch_op.drop_column("silent_after_hours")
        for name, _type in reversed(WABA_COLUMNS):
            batch_op.drop_column(name)
