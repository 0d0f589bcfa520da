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
from app.meta.fields import ACCOUNT_FIELDS_SQL, MESSAGE_FIELDS_SQL


class DeliveryStatus:
    PENDING = "pending"  # stored, waiting for the worker to split it into changes
    PROCESSED = "processed"
    INVALID_JSON = "invalid_json"  # signed but not JSON: kept for inspection, never processed
    FAILED = "failed"  # splitting failed after all retries


# Which deliveries the one-per-(app, body) rule covers: all but those the worker has not yet seen.
DEDUPLICATED = "status <> 'pending'"
# The deliveries the worker has yet to split. Conditions of partial indexes are SQL text with literal
# values, and the queries use the same text: a bound value would hide from the planner that the
# index applies.
DELIVERY_PENDING = "status = 'pending'"


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
        # The worker's queue, oldest first: a walk of the pending rows only, however many deliveries
        # are kept (an index on status made the planner sort the whole backlog for every batch).
        Index(
            "ix_webhook_deliveries_pending",
            "id",
            sqlite_where=text(DELIVERY_PENDING),
            postgresql_where=text(DELIVERY_PENDING),
        ),
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


# The changes the worker has yet to process (new, or failed with attempts left) and those waiting for
# their WABA to be registered; SQL text with literal values, as DELIVERY_PENDING.
CHANGE_WAITING = "status IN ('pending', 'failed')"
CHANGE_PENDING = "status = 'pending'"
CHANGE_UNROUTED = "status = 'unrouted'"
# The worker's two queues, each oldest first: what happens to the accounts, then message traffic
# (``app.meta.fields``). A partial index each, so that taking the oldest of either walks only the
# rows waiting in it.
ACCOUNT_CHANGES_WAITING = f"{CHANGE_WAITING} AND {ACCOUNT_FIELDS_SQL}"
MESSAGE_CHANGES_WAITING = f"{CHANGE_WAITING} AND {MESSAGE_FIELDS_SQL}"


def _partial(name: str, *columns: str, where: str) -> Index:
    return Index(name, *columns, sqlite_where=text(where), postgresql_where=text(where))


class WebhookChange(IdMixin, Base):
    """One entry[].changes[] item. dedup_key makes the same change from any delivery count once."""

    __tablename__ = "webhook_changes"
    __table_args__ = (
        UniqueConstraint("app_pk", "dedup_key"),
        Index("ix_webhook_changes_app_waba", "app_pk", "waba_id"),
        _partial("ix_webhook_changes_waiting_account", "id", where=ACCOUNT_CHANGES_WAITING),
        _partial("ix_webhook_changes_waiting_messages", "id", where=MESSAGE_CHANGES_WAITING),
        # How many wait, and since when (/metrics, /readyz).
        _partial("ix_webhook_changes_pending", "id", where=CHANGE_PENDING),
        # Routing a WABA's unrouted changes once it is registered.
        _partial("ix_webhook_changes_unrouted", "app_pk", "waba_id", where=CHANGE_UNROUTED),
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
