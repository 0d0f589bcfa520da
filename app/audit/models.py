from __future__ import annotations

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, CreatedAtMixin, IdMixin
from app.db.types import BigIntId


class AuditEntry(IdMixin, CreatedAtMixin, Base):
    """Who did what to which org, written in the same transaction as the change itself.

    The actor's email and staff flag are copied so the row still reads right after the user is
    deleted or changes address. org_id NULL: an action with no org (a staff search, a sign-in of a
    user without orgs).
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_org_created", "org_id", "created_at", "id"),)

    org_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    actor_email: Mapped[str] = mapped_column(String(320), default="")
    actor_is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, object]] = mapped_column(JSON)
