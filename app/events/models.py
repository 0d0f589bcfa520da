from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin
from app.db.types import BigIntId, UTCDateTime
from app.events.catalog import ACCOUNT_EVENTS_SQL


class Event(IdMixin, Base):
    """One typed event per webhook change (seq > 0 only for changes that carry several)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("change_id", "seq"),
        Index("ix_events_org_occurred", "org_id", "occurred_at", "id"),
        Index("ix_events_org_waba_occurred", "org_id", "waba_id", "occurred_at", "id"),
        Index("ix_events_org_phone_occurred", "org_id", "phone", "occurred_at", "id"),
        Index("ix_events_app_unrouted", "app_pk", "org_id"),
        # Timeline filters by kind or field, and warning-and-worse pages (migration 0004).
        Index("ix_events_org_kind_occurred", "org_id", "kind", "occurred_at", "id"),
        Index("ix_events_org_field_occurred", "org_id", "field", "occurred_at", "id"),
        Index(
            "ix_events_org_warning_occurred",
            "org_id",
            "occurred_at",
            "id",
            postgresql_where=text("severity >= 1"),
            sqlite_where=text("severity >= 1"),
        ),
        # The org's newest event id (where a page's live stream starts), one probe (migration 0007).
        Index("ix_events_org_id", "org_id", "id"),
        # The overview's count of open (unacknowledged warning/critical) events per WABA and
        # severity, answered from the index alone (severity added by migration 0007).
        Index(
            "ix_events_org_open",
            "org_id",
            "waba_id",
            "severity",
            "acknowledged_at",  # always NULL here; SQLite needs it in the index to skip the rows
            "field",  # only account events are counted (migration 0016)
            postgresql_where=text("severity >= 1 AND acknowledged_at IS NULL"),
            sqlite_where=text("severity >= 1 AND acknowledged_at IS NULL"),
        ),
        # The timeline's default view, account events newest first (migration 0016).
        Index(
            "ix_events_org_account_occurred",
            "org_id",
            "occurred_at",
            "id",
            postgresql_where=text(ACCOUNT_EVENTS_SQL),
            sqlite_where=text(ACCOUNT_EVENTS_SQL),
        ),
    )

    # NULL for events wabawatch observed itself (a Graph sync found a change no webhook reported).
    change_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("webhook_changes.id", ondelete="CASCADE"), nullable=True
    )
    seq: Mapped[int] = mapped_column(Integer, default=0)
    app_pk: Mapped[int] = mapped_column(BigIntId, ForeignKey("meta_apps.id", ondelete="CASCADE"))
    org_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=True
    )
    waba_pk: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("wabas.id", ondelete="SET NULL"), nullable=True
    )
    waba_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)  # E.164 digits
    phone_number_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    field: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(100))
    severity: Mapped[int] = mapped_column(SmallInteger)  # 0 info, 1 warning, 2 critical
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, object]] = mapped_column(JSON)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
