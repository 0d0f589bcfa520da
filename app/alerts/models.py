"""Alert channels (where to tell), rules (what to tell), and the outbox (each message to send)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, CreatedAtMixin, IdMixin
from app.db.types import BigIntId, EncryptedStr, UTCDateTime


class ChannelKind:
    EMAIL = "email"  # one address; confirmed by a link unless it is a member's verified address
    SLACK = "slack"  # an incoming-webhook URL, encrypted at rest
    OWNERS = "owners"  # the org's owners at sending time, by email (the default rule's channel)


class AlertChannel(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "alert_channels"

    org_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    # What pages show: the address, or the Slack URL's host and a masked path (never the URL).
    label: Mapped[str] = mapped_column(String(320))
    address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(EncryptedStr(), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    confirm_digest: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AlertRule(IdMixin, CreatedAtMixin, Base):
    """Matches events by field and kind (empty list = any) and minimum severity (None = any), on
    chosen WABAs (empty = all); matching events go to the rule's channels."""

    __tablename__ = "alert_rules"

    org_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_severity: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    waba_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    throttle_minutes: Mapped[int] = mapped_column(Integer, default=10)


class AlertRuleChannel(Base):
    __tablename__ = "alert_rule_channels"

    rule_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("alert_channels.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class DeliveryKind:
    ALERT = "alert"  # one event
    FOLLOWUP = "followup"  # "and N more" after a throttle window
    TEST = "test"  # the "send test" button
    DIGEST = "digest"  # a channel's daily digest
    NOTICE = "notice"  # mail to the org's admins (a channel was disabled); no channel


class DeliveryStatus:
    QUEUED = "queued"
    SENDING = "sending"  # claimed with a lease; written before the send
    SENT = "sent"
    FAILED = "failed"  # for good: permanent error or out of attempts
    HELD = "held"  # waiting for the channel's daily digest
    DIGESTED = "digested"  # went out in a digest


class AlertDelivery(IdMixin, CreatedAtMixin, Base):
    """One message to one channel: the durable outbox row and the delivery log entry."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel_id"),
        Index("ix_alert_deliveries_status_run_at", "status", "run_at"),
        Index("ix_alert_deliveries_org_created", "org_id", "created_at"),
        Index("ix_alert_deliveries_group", "rule_id", "group_key", "created_at"),
    )

    org_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("alert_channels.id", ondelete="CASCADE"), nullable=True, index=True
    )
    rule_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("alert_rules.id", ondelete="SET NULL"), nullable=True
    )
    event_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("events.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # rule + WABA + kind of event: repeats within the rule's window are grouped under it.
    group_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    group_count: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=6)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
