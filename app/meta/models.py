from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, CreatedAtMixin, IdMixin
from app.db.types import BigIntId, EncryptedStr, UTCDateTime


class MetaApp(IdMixin, CreatedAtMixin, Base):
    """A Meta app whose webhooks arrive at /webhooks/whatsapp/{app_id}. org_id NULL = the platform's own."""

    __tablename__ = "meta_apps"

    app_id: Mapped[str] = mapped_column(String(32), unique=True)
    org_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    app_secret: Mapped[str] = mapped_column(EncryptedStr())
    verify_token: Mapped[str] = mapped_column(EncryptedStr())
    # Facebook Login for Business configuration id (connect flow); optional.
    login_config_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    signature_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_signature_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
