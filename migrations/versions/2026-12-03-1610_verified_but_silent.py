"""verified but silent: when our subscription was made, and the silence already alerted

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

A WABA that is subscribed but hears nothing for its silent_after_hours is "verified but silent".
The overview, the connection page and the worker's alert all read it from the WABA's own row, so
``subscribed_at`` (our latest successful subscribe) joins ``last_event_at`` and ``connected_at``
there; it starts from the subscription changes already kept. ``silence_alerted_at`` is when the
worker raised the alert of the current silence, so that one silence makes one alert.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("wabas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("silence_alerted_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        sa.text(
            "UPDATE wabas SET subscribed_at = (SELECT MAX(c.created_at) FROM subscription_changes c"
            " WHERE c.waba_pk = wabas.id AND c.ok AND c.action = 'subscribe')"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("wabas", schema=None) as batch_op:
        batch_op.drop_column("silence_alerted_at")
        batch_op.drop_column("subscribed_at")
