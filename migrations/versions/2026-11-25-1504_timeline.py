"""timeline: live updates and timeline indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

Indexes for the timeline's kind and field filters, for warning-and-worse pages (partial), and for
the overview's count of open events per WABA (partial: only unacknowledged warning/critical rows).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WARNING = "severity >= 1"
_OPEN = "severity >= 1 AND acknowledged_at IS NULL"


def upgrade() -> None:
    op.create_index("ix_events_org_kind_occurred", "events", ["org_id", "kind", "occurred_at", "id"])
    op.create_index("ix_events_org_field_occurred", "events", ["org_id", "field", "occurred_at", "id"])
    op.create_index(
        "ix_events_org_warning_occurred",
        "events",
        ["org_id", "occurred_at", "id"],
        postgresql_where=sa.text(_WARNING),
        sqlite_where=sa.text(_WARNING),
    )
    op.create_index(
        "ix_events_org_open",
        "events",
        ["org_id", "waba_id"],
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_events_org_open", table_name="events")
    op.drop_index("ix_events_org_warning_occurred", table_name="events")
    op.drop_index("ix_events_org_field_occurred", table_name="events")
    op.drop_index("ix_events_org_kind_occurred", table_name="events")
