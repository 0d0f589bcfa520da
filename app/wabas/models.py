from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, CreatedAtMixin, IdMixin
from app.db.types import BigIntId, EncryptedStr, UTCDateTime


class Waba(IdMixin, CreatedAtMixin, Base):
    """A WhatsApp Business Account registered by an org, reached through one Meta app."""

    __tablename__ = "wabas"
    __table_args__ = (UniqueConstraint("app_pk", "waba_id"),)

    org_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    app_pk: Mapped[int] = mapped_column(BigIntId, ForeignKey("meta_apps.id", ondelete="RESTRICT"))
    waba_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    access_token: Mapped[str | None] = mapped_column(EncryptedStr(), nullable=True)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Synced from the Graph API (migration 0003): what Meta says now, whatever the webhooks said.
    account_review_status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    business_verification_status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    health_status: Mapped[str | None] = mapped_column(String(40), nullable=True)  # can_send_message
    graph_status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    currency: Mapped[str | None] = mapped_column(String(8), nullable=True)
    timezone_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    owner_business_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    owner_business_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sync_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The stored token's metadata from debug_token (never the token itself).
    token_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    token_scopes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Our app's subscription as last read or set through Graph; None: never checked.
    subscribed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    subscription_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    silent_after_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    # Our latest successful subscribe, and when the worker alerted the current silence (migration
    # 0014); app.wabas.silence reads them.
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    silence_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PhoneNumber(IdMixin, CreatedAtMixin, Base):
    """A business phone number of a WABA, known by its id, its display number, or both."""

    __tablename__ = "phone_numbers"
    __table_args__ = (
        # One row per number of a WABA, whichever identifier came first (several rows may lack one).
        Index("ix_phone_numbers_waba_digits", "waba_pk", "digits", unique=True),
        Index("ix_phone_numbers_waba_pnid", "waba_pk", "phone_number_id", unique=True),
    )

    org_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    waba_pk: Mapped[int] = mapped_column(BigIntId, ForeignKey("wabas.id", ondelete="CASCADE"))
    phone_number_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    digits: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # E.164 digits only
    display_phone_number: Mapped[str] = mapped_column(String(64), default="")
    verified_name: Mapped[str] = mapped_column(String(300), default="")
    # Synced from the Graph API (migration 0003).
    name_status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    quality_rating: Mapped[str | None] = mapped_column(String(40), nullable=True)
    messaging_limit_tier: Mapped[str | None] = mapped_column(String(40), nullable=True)
    code_verification_status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    throughput_level: Mapped[str | None] = mapped_column(String(40), nullable=True)
    graph_status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    platform_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class StateEntry(IdMixin, Base):
    """Current state, one row per (WABA, subject, key), moved only by newer events.

    subject is "waba" or "phone:<phone_numbers.id>"; key is e.g. review, ban, restriction, quality,
    messaging_limit, name, capabilities, security.
    """

    __tablename__ = "state_entries"
    __table_args__ = (UniqueConstraint("waba_pk", "subject", "key"),)

    org_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    waba_pk: Mapped[int] = mapped_column(BigIntId, ForeignKey("wabas.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(40))
    value: Mapped[dict[str, object]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    event_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("events.id", ondelete="SET NULL"), nullable=True
    )
