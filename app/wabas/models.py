from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
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


class PhoneNumber(IdMixin, CreatedAtMixin, Base):
    """A business phone number of a WABA, known by its id, its display number, or both."""

    __tablename__ = "phone_numbers"
    __table_args__ = (
        Index("ix_phone_numbers_waba_digits", "waba_pk", "digits"),
        Index("ix_phone_numbers_waba_pnid", "waba_pk", "phone_number_id"),
    )

    org_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    waba_pk: Mapped[int] = mapped_column(BigIntId, ForeignKey("wabas.id", ondelete="CASCADE"))
    phone_number_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    digits: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # E.164 digits only
    display_phone_number: Mapped[str] = mapped_column(String(64), default="")
    verified_name: Mapped[str] = mapped_column(String(300), default="")


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
