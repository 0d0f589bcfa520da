from __future__ import annotations

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin
from app.db.types import BigIntId


class RetentionPolicy(IdMixin, Base):
    """An org's own retention periods; an org without a row has the defaults from settings."""

    __tablename__ = "retention_policies"

    org_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    deliveries_days: Mapped[int] = mapped_column(Integer)
    messages_days: Mapped[int] = mapped_column(Integer)
