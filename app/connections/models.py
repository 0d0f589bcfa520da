"""What wabawatch keeps of its Graph calls: the latest rate-limit usage per WABA (shared by web,
worker and CLI processes, which each have their own in-memory tracker) and who toggled a
subscription, when, and what Meta answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, CreatedAtMixin, IdMixin
from app.db.types import BigIntId, UTCDateTime


class WabaUsage(IdMixin, Base):
    """The latest X-Business-Use-Case-Usage reading for one WABA (percentages of its hourly quota)."""

    __tablename__ = "waba_usage"

    org_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    waba_pk: Mapped[int] = mapped_column(BigIntId, ForeignKey("wabas.id", ondelete="CASCADE"), unique=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    total_cputime: Mapped[int] = mapped_column(Integer, default=0)
    total_time: Mapped[int] = mapped_column(Integer, default=0)
    regain_minutes: Mapped[int] = mapped_column(Integer, default=0)
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @property
    def peak(self) -> int:
        return max(self.call_count, self.total_cputime, self.total_time)


class SubscriptionAction:
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"


class SubscriptionChange(IdMixin, CreatedAtMixin, Base):
    """One subscribe/unsubscribe attempt: who (a user, or None for the CLI), what, and the outcome."""

    __tablename__ = "subscription_changes"
    __table_args__ = (Index("ix_subscription_changes_waba_created", "waba_pk", "created_at"),)

    org_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    waba_pk: Mapped[int] = mapped_column(BigIntId, ForeignKey("wabas.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(320))  # the user's email, or "command line"
    action: Mapped[str] = mapped_column(String(16))
    override_callback_uri: Mapped[str | None] = mapped_column(String(300), nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
