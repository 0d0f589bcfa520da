"""The staff search's own index: folded names, the ids staff paste (WABA ids, phone digits,
phone_number_ids) and those that live in events' JSON (wamids, template names).

A ``SearchTerm`` is one searchable text of one org, folded once when it is written (lower case,
accents removed: ``app.staff.text.fold``; an id folds to itself) so that a search compares folded
text with folded text. On PostgreSQL a trigram index answers ``LIKE '%…%'`` on it, and a b-tree
answers a whole value (a pasted wamid) without walking the trigrams every wamid shares.
``SearchMark`` remembers how far each source has been indexed.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin
from app.db.types import BigIntId

MAX_TERM = 300


class SearchTerm(IdMixin, Base):
    __tablename__ = "staff_search_terms"
    __table_args__ = (
        Index("ix_staff_search_terms_ref", "ref"),
        Index("ix_staff_search_terms_exact", "folded"),
        Index(
            "ix_staff_search_terms_folded",
            "folded",
            postgresql_using="gin",
            postgresql_ops={"folded": "gin_trgm_ops"},
        ),
    )

    org_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("organizations.id", ondelete="CASCADE"))
    waba_pk: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("wabas.id", ondelete="CASCADE"), nullable=True
    )
    event_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("events.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(24))  # org, waba_name, display_name, template, wamid, …
    ref: Mapped[str] = mapped_column(String(40))  # the row it came from: "org:3", "phone:7", "event:9"
    text: Mapped[str] = mapped_column(String(MAX_TERM))
    folded: Mapped[str] = mapped_column(String(MAX_TERM))


class SearchMark(Base):
    """The highest id of each source already indexed (``events``, ``orgs``, ``wabas``, ``phones``)."""

    __tablename__ = "staff_search_marks"

    source: Mapped[str] = mapped_column(String(24), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigIntId, default=0)
