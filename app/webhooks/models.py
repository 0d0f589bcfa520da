from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin
from app.db.types import BigIntId, UTCDateTime


class DeliveryStatus:
    PENDING = "pending"  # stored, waiting for the worker to split it into changes
    PROCESSED = "processed"
    INVALID_JSON = "invalid_json"  # signed but not JSON: kept for inspection, never processed
    FAILED = "failed"  # splitting failed after all retries


# Which deliveries the one-per-(app, body) rule covers: all but those the worker has not yet seen.
DEDUPLICATED = "status <> 'pending'"


class WebhookDelivery(IdMixin, Base):
    """One signed POST from Meta, stored byte for byte before the 200 is sent.

    A body Meta sends again is kept once, with ``duplicate_count``. A JSON body is deduplicated by
    the worker, not at intake: the intake only appends (a unique index over random hashes would
    cost each commit a page write per row, which was most of the receiver's database time), and
    the worker folds a pending copy into the row already kept for that body (``app.processing.dedup``),
    so every body that is not pending exists once. A body that is not JSON is never pending, so the
    intake itself counts its repeats.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(
            "uq_webhook_deliveries_app_body",
            "app_pk",
            "body_sha256",
            unique=True,
            sqlite_where=text(DEDUPLICATED),
            postgresql_where=text(DEDUPLICATED),
        ),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_app_received", "app_pk", "received_at"),
    )

    app_pk: Mapped[int] = mapped_column(BigIntId, ForeignKey("meta_apps.id", ondelete="CASCADE"))
    body_sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # NULL once purged by retention
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    last_duplicate_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    client_cert_verified: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ChangeStatus:
    PENDING = "pending"
    PROCESSED = "processed"
    UNROUTED = "unrouted"  # no org registered this WABA (yet); kept and routed on registration
    FAILED = "failed"  # processing raised; retried with backoff until max attempts


class WebhookChange(IdMixin, Base):
    """One entry[].changes[] item. dedup_key makes the same change from any delivery count once."""

    __tablename__ = "webhook_changes"
    __table_args__ = (
        UniqueConstraint("app_pk", "dedup_key"),
        Index("ix_webhook_changes_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_changes_app_waba", "app_pk", "waba_id"),
    )

    delivery_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    app_pk: Mapped[int] = mapped_column(BigIntId, ForeignKey("meta_apps.id", ondelete="CASCADE"))
    entry_index: Mapped[int] = mapped_column(Integer)
    change_index: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(100))
    entry_id: Mapped[str] = mapped_column(String(64))
    entry_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    waba_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    org_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    dedup_key: Mapped[str] = mapped_column(String(64))
    value: Mapped[dict[str, object]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=ChangeStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebhookRejection(IdMixin, Base):
    """Counters of refused deliveries per app id, reason and hour (nothing else is kept for them)."""

    __tablename__ = "webhook_rejections"
    __table_args__ = (UniqueConstraint("app_id", "reason", "hour"),)

    app_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))  # bad_signature, missing_signature, too_large, ...
    hour: Mapped[datetime] = mapped_column(UTCDateTime())
    count: Mapped[int] = mapped_column(Integer, default=0)
