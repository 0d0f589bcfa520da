"""one phone row per WABA and number

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

A number first named by its digits alone (a quality or name update) and then by its phone number id
alone (an account alert) became two rows; a later change naming both filled the id's row with the
digits, and the number was listed twice with its state and events split between the rows. Processing
now joins such rows, and unique indexes on (WABA, digits) and (WABA, phone number id) keep one row
per number. Before the indexes are built, existing duplicates are merged into one row: the row with
the phone number id (the oldest one) keeps the number; the others' state entries move to it unless it
has a newer entry of the same key, their events are named by both identifiers, what the kept row
lacks is taken from them, and they are deleted. A row with the same digits but another phone number
id is another number by Meta's id: it keeps its id and gives up the digits (its events keep theirs).

Downgrade drops the unique indexes (and rebuilds the plain ones); merged rows stay merged.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {"ix_phone_numbers_waba_digits": "digits", "ix_phone_numbers_waba_pnid": "phone_number_id"}
_FILLED = (
    "name_status",
    "quality_rating",
    "messaging_limit_tier",
    "code_verification_status",
    "throughput_level",
    "graph_status",
    "platform_type",
    "synced_at",
)


def upgrade() -> None:
    conn = op.get_bind()
    # Same phone number id twice in a WABA: the oldest row keeps it.
    for waba_pk, ids in _groups(conn, "phone_number_id"):
        for gone in ids[1:]:
            _merge(conn, waba_pk, keep=ids[0], gone=gone)
    # Same digits twice: the oldest row with a phone number id keeps them (else the oldest row).
    for waba_pk, ids in _groups(conn, "digits"):
        rows = [_row(conn, i) for i in ids]
        with_id = [r for r in rows if r["phone_number_id"] is not None]
        keep = (with_id or rows)[0]
        for row in rows:
            if row["id"] == keep["id"]:
                continue
            if row["phone_number_id"] is None:
                _merge(conn, waba_pk, keep=keep["id"], gone=row["id"])
            else:
                conn.execute(
                    sa.text("UPDATE phone_numbers SET digits = NULL WHERE id = :id"), {"id": row["id"]}
                )
    for name, column in _INDEXES.items():
        op.drop_index(name, table_name="phone_numbers")
        op.create_index(name, "phone_numbers", ["waba_pk", column], unique=True)


def downgrade() -> None:
    for name, column in _INDEXES.items():
        op.drop_index(name, table_name="phone_numbers")
        op.create_index(name, "phone_numbers", ["waba_pk", column], unique=False)


def _groups(conn: sa.Connection, column: str) -> list[tuple[int, list[int]]]:
    """(WABA pk, ids oldest first) of every value of ``column`` held by more than one row of a WABA."""
    dupes = conn.execute(
        sa.text(
            f"SELECT waba_pk, {column} FROM phone_numbers WHERE {column} IS NOT NULL "
            f"GROUP BY waba_pk, {column} HAVING COUNT(*) > 1"
        )
    ).all()
    found = []
    for waba_pk, value in dupes:
        ids = conn.execute(
            sa.text(f"SELECT id FROM phone_numbers WHERE waba_pk = :w AND {column} = :v ORDER BY id"),
            {"w": waba_pk, "v": value},
        ).scalars()
        found.append((int(waba_pk), [int(i) for i in ids]))
    return found


def _row(conn: sa.Connection, phone_id: int) -> dict[str, Any]:
    return dict(
        conn.execute(sa.text("SELECT * FROM phone_numbers WHERE id = :id"), {"id": phone_id}).one()._mapping
    )


def _merge(conn: sa.Connection, waba_pk: int, *, keep: int, gone: int) -> None:
    kept, old = _row(conn, keep), _row(conn, gone)
    keep_subject, gone_subject = f"phone:{keep}", f"phone:{gone}"
    entries = conn.execute(
        sa.text("SELECT id, key FROM state_entries WHERE waba_pk = :w AND subject = :s"),
        {"w": waba_pk, "s": gone_subject},
    ).all()
    for entry_id, key in entries:
        mine = conn.execute(
            sa.text("SELECT id FROM state_entries WHERE waba_pk = :w AND subject = :s AND key = :k"),
            {"w": waba_pk, "s": keep_subject, "k": key},
        ).scalar()
        if mine is None:
            conn.execute(
                sa.text("UPDATE state_entries SET subject = :s WHERE id = :id"),
                {"s": keep_subject, "id": entry_id},
            )
            continue
        newest = conn.execute(
            sa.text(
                "SELECT id FROM state_entries WHERE id IN (:a, :b) "
                "ORDER BY occurred_at DESC, COALESCE(event_id, 0) DESC LIMIT 1"
            ),
            {"a": mine, "b": entry_id},
        ).scalar()
        if newest == entry_id:
            for column in ("value", "occurred_at", "event_id"):
                conn.execute(
                    sa.text(
                        f"UPDATE state_entries SET {column} = "
                        f"(SELECT {column} FROM state_entries WHERE id = :src) WHERE id = :dst"
                    ),
                    {"src": entry_id, "dst": mine},
                )
        conn.execute(sa.text("DELETE FROM state_entries WHERE id = :id"), {"id": entry_id})
    digits = kept["digits"] or old["digits"]
    number_id = kept["phone_number_id"] or old["phone_number_id"]
    if digits is not None and number_id is not None:
        conn.execute(
            sa.text(
                "UPDATE events SET phone_number_id = :n "
                "WHERE waba_pk = :w AND phone = :d AND phone_number_id IS NULL"
            ),
            {"n": number_id, "w": waba_pk, "d": digits},
        )
        conn.execute(
            sa.text(
                "UPDATE events SET phone = :d WHERE waba_pk = :w AND phone_number_id = :n AND phone IS NULL"
            ),
            {"n": number_id, "w": waba_pk, "d": digits},
        )
    conn.execute(sa.text("DELETE FROM phone_numbers WHERE id = :id"), {"id": gone})
    filled = {c: old[c] for c in _FILLED if kept[c] is None and old[c] is not None}
    filled["digits"], filled["phone_number_id"] = digits, number_id
    filled["display_phone_number"] = kept["display_phone_number"] or old["display_phone_number"]
    filled["verified_name"] = kept["verified_name"] or old["verified_name"]
    sets = ", ".join(f"{c} = :{c}" for c in filled)
    conn.execute(sa.text(f"UPDATE phone_numbers SET {sets} WHERE id = :id"), {**filled, "id": keep})
