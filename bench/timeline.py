"""Timeline read benchmark at a million events (run by hand, not in CI).

    .venv/bin/python -m bench.timeline [--db postgresql://127.0.0.1:5432/DBNAME | --sqlite FILE]
        [--events 1000000] [--runs 30] [--reuse]

Builds a fresh database (a temporary SQLite file by default, or ``--sqlite FILE``, which is kept;
with ``--db`` the PostgreSQL database's public schema is DROPPED and rebuilt, so give it a throwaway
database), migrates it to head, makes
5 orgs with 10 WABAs each (2 numbers per WABA, current state), and bulk-loads the events straight
into the table (the table's secondary indexes are dropped for the load and rebuilt after, as a
restore would; SQLite by executemany through the columns' own bind processors, PostgreSQL by COPY).
About 15% of events are warning or critical, most of those acknowledged; every seventh event shares
its time with the previous one.

Then it measures **server time** (the ASGI app in process, request in to last body byte, no
network) for: the first timeline page (account events, the default), filtered pages
(severity+WABA, kind, phone, part of a phone number, text), all events, open events only, a deep
keyset page (~150,000 rows down) and the org overview, each against the 50 ms target; a 10,000-row
CSV and JSON export (time to the first body bytes and to the last); and, as the baseline measured
in the same run, ``/healthz``, a signed-in page without events and a bare indexed ``SELECT`` of
the first page's ids. Prints p50/p95 in milliseconds.

``--reuse`` skips the build: it migrates an earlier run's database (``--db`` or ``--sqlite``) to head
and measures it again, so a change to the code or the schema is compared on the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import psycopg
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite as sqlite_dialect

from app.db.engine import Database
from app.db.migrate import upgrade_head
from app.events.models import Event
from app.events.queries import Cursor
from app.main import create_app
from app.settings import Settings
from app.tenancy.models import Organization, Role, User
from app.wabas import service as wabas_service
from app.wabas.models import PhoneNumber, StateEntry, Waba
from app.webhooks.models import WebhookChange, WebhookDelivery
from tests.factories import PASSWORD, add_member, create_meta_app, create_org, create_user, login

ORGS, WABAS_PER_ORG, PHONES_PER_WABA = 5, 10, 2
TARGET_MS = 50.0
START = datetime(2026, 8, 1, tzinfo=UTC)
CHUNK = 50_000
# (field, kind, severity, weight)
MIX = [
    ("messages", "status_delivered", 0, 45),
    ("messages", "status_read", 0, 20),
    ("message_template_status_update", "approved", 0, 8),
    ("phone_number_quality_update", "upgrade", 0, 6),
    ("business_capability_update", "capability_update", 0, 6),
    ("messages", "status_failed", 1, 8),
    ("phone_number_name_update", "rejected", 1, 4),
    ("security", "pin_reset_request", 2, 1),
    ("phone_number_quality_update", "downgrade", 2, 1),
    ("account_update", "account_restriction", 2, 1),
]
COLUMNS = (
    "change_id",
    "seq",
    "app_pk",
    "org_id",
    "waba_pk",
    "waba_id",
    "phone",
    "phone_number_id",
    "field",
    "kind",
    "severity",
    "occurred_at",
    "received_at",
    "summary",
    "details",
    "acknowledged_at",
    "acknowledged_by_id",
)


def pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Fleet:
    """What the load made: per org its slug, viewer, WABAs (pk, id, change id) and numbers."""

    def __init__(self) -> None:
        self.orgs: list[dict[str, Any]] = []
        self.app_pk = 0


async def make_fleet(db: Database) -> Fleet:
    fleet = Fleet()
    app = await create_meta_app(db)
    fleet.app_pk = app.id
    now = datetime.now(UTC)
    for o in range(ORGS):
        org = await create_org(db, name=f"Bench org {o}", slug=f"bench-{o}")
        user = await create_user(db, email=f"bench{o}@example.com")
        await add_member(db, org, user, Role.ADMIN)
        wabas = []
        for w in range(WABAS_PER_ORG):
            waba_id = f"10{o:02d}{w:03d}000000000"
            async with db.transaction() as session:
                waba, _ = await wabas_service.register_waba(
                    session, org=org, app=app, waba_id=waba_id, name=f"WABA {o}-{w}"
                )
                delivery = WebhookDelivery(
                    app_pk=app.id,
                    body_sha256=f"{o:032x}{w:032x}",
                    body=b"{}",
                    size=2,
                    received_at=now,
                    status="processed",
                )
                session.add(delivery)
                await session.flush()
                change = WebhookChange(
                    delivery_id=delivery.id,
                    app_pk=app.id,
                    entry_index=0,
                    change_index=0,
                    field="messages",
                    entry_id=waba_id,
                    waba_id=waba_id,
                    org_id=org.id,
                    dedup_key=f"{o:032x}{w:032x}",
                    value={},
                    received_at=now,
                    status="processed",
                )
                session.add(change)
                await session.flush()
                numbers = []
                for p in range(PHONES_PER_WABA):
                    digits = f"1555{o:02d}{w:02d}{p:03d}"
                    phone = PhoneNumber(
                        org_id=org.id,
                        waba_pk=waba.id,
                        phone_number_id=f"9{o}{w:02d}{p}",
                        digits=digits,
                        display_phone_number=digits,
                        verified_name=f"Shop {o}-{w}-{p}",
                    )
                    session.add(phone)
                    await session.flush()
                    for key, value in (
                        ("quality", {"event": "UPGRADE"}),
                        ("messaging_limit", {"tier": "TIER_10K"}),
                    ):
                        session.add(
                            StateEntry(
                                org_id=org.id,
                                waba_pk=waba.id,
                                subject=f"phone:{phone.id}",
                                key=key,
                                value=value,
                                occurred_at=now,
                            )
                        )
                    numbers.append((digits, phone.phone_number_id))
                session.add(
                    StateEntry(
                        org_id=org.id,
                        waba_pk=waba.id,
                        subject="waba",
                        key="review",
                        value={"decision": "APPROVED"},
                        occurred_at=now,
                    )
                )
            wabas.append({"pk": waba.id, "id": waba_id, "change": change.id, "phones": numbers})
        fleet.orgs.append({"id": org.id, "slug": org.slug, "user": user, "user_id": user.id, "wabas": wabas})
    return fleet


async def find_fleet(db: Database) -> Fleet:
    """The fleet an earlier run made (``--reuse``), read back from the database."""
    fleet = Fleet()
    async with db.read() as session:
        for o in range(ORGS):
            org = await session.scalar(select(Organization).where(Organization.slug == f"bench-{o}"))
            user = await session.scalar(select(User).where(User.email == f"bench{o}@example.com"))
            if org is None or user is None:
                raise SystemExit("--reuse: this database was not built by bench.timeline")
            wabas = []
            for waba in await session.scalars(select(Waba).where(Waba.org_id == org.id).order_by(Waba.id)):
                fleet.app_pk = waba.app_pk
                change = await session.scalar(
                    select(WebhookChange.id).where(WebhookChange.waba_id == waba.waba_id)
                )
                numbers = (
                    await session.execute(
                        select(PhoneNumber.digits, PhoneNumber.phone_number_id)
                        .where(PhoneNumber.waba_pk == waba.id)
                        .order_by(PhoneNumber.id)
                    )
                ).all()
                wabas.append(
                    {
                        "pk": waba.id,
                        "id": waba.waba_id,
                        "change": change,
                        "phones": [tuple(n) for n in numbers],
                    }
                )
            fleet.orgs.append(
                {"id": org.id, "slug": org.slug, "user": user, "user_id": user.id, "wabas": wabas}
            )
    return fleet


def event_rows(fleet: Fleet, total: int) -> Iterator[tuple[Any, ...]]:
    """Rows in COLUMNS order (Python values), spread evenly over orgs and WABAs."""
    rng = random.Random(5)
    kinds = [(f, k, s) for f, k, s, weight in MIX for _ in range(weight)]
    per_org = total // len(fleet.orgs)
    seqs: dict[int, int] = {}
    for o, org in enumerate(fleet.orgs):
        moment = START
        for i in range(per_org):
            if i % 7:
                moment += timedelta(seconds=rng.randint(1, 15))
            waba = org["wabas"][i % len(org["wabas"])]
            digits, pnid = waba["phones"][i % PHONES_PER_WABA]
            field, kind, severity = kinds[rng.randrange(len(kinds))]
            seq = seqs.get(waba["change"], 0)
            seqs[waba["change"]] = seq + 1
            acked = severity > 0 and rng.random() < 0.7
            summary = f"{kind.replace('_', ' ')} for +{digits} (bench {o}-{i})"
            details = (
                {"event": kind.upper(), "requested_name": f"Shop {i % 97}"} if field != "messages" else {}
            )
            yield (
                waba["change"],
                seq,
                fleet.app_pk,
                org["id"],
                waba["pk"],
                waba["id"],
                digits,
                pnid,
                field,
                kind,
                severity,
                moment,
                moment,
                summary,
                details,
                moment if acked else None,
                org["user_id"] if acked else None,
            )


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_sqlite(path: str, fleet: Fleet, total: int) -> None:
    dialect = sqlite_dialect.dialect()
    table = Event.__table__
    processors = [table.c[name].type.bind_processor(dialect) for name in COLUMNS]
    began = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='events' AND sql IS NOT NULL"
        " AND name NOT LIKE 'uq_%'"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    sql = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    for chunk in _chunks(event_rows(fleet, total)):
        conn.executemany(
            sql, [tuple(p(v) if p else v for p, v in zip(processors, row, strict=True)) for row in chunk]
        )
    conn.commit()
    print(f"  rows inserted: {time.perf_counter() - began:.1f} s", flush=True)
    for _, create in indexes:
        conn.execute(create)
    print(f"  indexes rebuilt: {time.perf_counter() - began:.1f} s", flush=True)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def load_postgres(url: str, fleet: Fleet, total: int) -> None:
    with psycopg.connect(url) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events'"
            " AND indexname NOT LIKE 'pk_%' AND indexname NOT LIKE 'uq_%'"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        with conn.cursor() as cur, cur.copy(f"COPY events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in event_rows(fleet, total):
                values = list(row)
                values[14] = json.dumps(values[14])
                copy.write_row(values)
        for _, create in indexes:
            conn.execute(create)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE events")


async def timed(label: str, runs: int, call: Callable[[], Awaitable[int]], results: list[str]) -> None:
    for _ in range(3):
        await call()
    times: list[float] = []
    size = 0
    for _ in range(runs):
        start = time.perf_counter()
        size = await call()
        times.append((time.perf_counter() - start) * 1000)
    p50, p95 = statistics.median(times), pct(times, 95)
    verdict = "ok" if p95 <= TARGET_MS else "OVER"
    results.append(f"  {label:<44} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {verdict:>4}   ({size} bytes)")
    print(results[-1], flush=True)


async def _asgi_get(app: Any, path: str, query: str, cookie: str) -> tuple[float, float, int]:
    """One GET straight into the ASGI app: (ms to the first body bytes, ms to the last, bytes).
    httpx's ASGI transport hands back a response only once the body is complete, so a streamed
    download's first byte is timed here, at the app's own ``send``."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 123),
        "server": ("testserver", 80),
    }
    status = 0
    first: float | None = None
    size = 0
    requested, finished = False, asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()  # the client stays connected until the body is complete
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, first, size
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            if message.get("body"):
                first = first if first is not None else time.perf_counter()
                size += len(message["body"])
            if not message.get("more_body"):
                finished.set()

    start = time.perf_counter()
    await app(scope, receive, send)
    end = time.perf_counter()
    assert status == 200, (path, status)
    return ((first or end) - start) * 1000, (end - start) * 1000, size


async def timed_stream(
    label: str, runs: int, app: Any, path: str, query: str, cookie: str, results: list[str]
) -> None:
    """A streamed download: time to first byte and total, p50/p95 (the 50 ms target is for pages)."""
    for _ in range(2):
        await _asgi_get(app, path, query, cookie)
    samples = [await _asgi_get(app, path, query, cookie) for _ in range(runs)]
    firsts, totals = [s[0] for s in samples], [s[1] for s in samples]
    results.append(
        f"  {label:<30} first byte p50 {statistics.median(firsts):6.1f} p95 {pct(firsts, 95):6.1f} ms"
        f"   total p50 {statistics.median(totals):7.1f} p95 {pct(totals, 95):7.1f} ms   ({samples[-1][2]} bytes)"
    )
    print(results[-1], flush=True)


async def measure(settings: Settings, fleet: Fleet, runs: int, total: int) -> list[str]:
    app = create_app(settings)
    results: list[str] = []
    async with app.web.router.lifespan_context(app.web):
        db: Database = app.state.services.db
        org = fleet.orgs[0]
        slug, waba = org["slug"], org["wabas"][3]
        per_org = total // len(fleet.orgs)
        deep_offset = min(150_000, per_org * 3 // 4)
        export_rows = min(10_000, per_org // WABAS_PER_ORG // 2)
        async with db.read() as session:
            newest = select(Event.occurred_at, Event.id).order_by(Event.occurred_at.desc(), Event.id.desc())
            deep = (
                await session.execute(newest.where(Event.org_id == org["id"]).offset(deep_offset).limit(1))
            ).one()
            since = (
                await session.execute(
                    newest.where(Event.org_id == org["id"], Event.waba_id == waba["id"])
                    .offset(export_rows - 1)
                    .limit(1)
                )
            ).one()[0]
        cursor = Cursor(deep[0], deep[1]).encode()
        async with httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://testserver", timeout=60
        ) as client:
            await login(client, org["user"], PASSWORD)

            def get(path: str, **params: str) -> Callable[[], Awaitable[int]]:
                async def call() -> int:
                    answer = await client.get(path, params=params)
                    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
                    return len(answer.content)

                return call

            async def bare_select() -> int:
                async with db.read() as session:
                    rows = await session.execute(
                        text(
                            "SELECT id FROM events WHERE org_id = :o ORDER BY occurred_at DESC, id DESC LIMIT 51"
                        ),
                        {"o": org["id"]},
                    )
                    return len(rows.all())

            print("baseline (same run):", flush=True)
            await timed("bare indexed SELECT (51 ids)", runs, bare_select, results)
            await timed("GET /healthz", runs, get("/healthz"), results)
            await timed("signed-in page without events (members)", runs, get(f"/o/{slug}/members"), results)
            print("pages (target p95 < 50 ms):", flush=True)
            base = f"/o/{slug}/events"
            await timed("timeline, first page", runs, get(base), results)
            await timed(
                "filtered: severity=critical + waba",
                runs,
                get(base, severity="critical", waba=waba["id"]),
                results,
            )
            await timed(
                "filtered: kind=pin_reset_request", runs, get(base, kind="pin_reset_request"), results
            )
            await timed(
                "filtered: phone (formatted)", runs, get(base, phone="+" + waba["phones"][1][0]), results
            )
            await timed("filtered: severity=warning", runs, get(base, severity="warning"), results)
            await timed(
                "filtered: phone, 4 digits (partial)",
                runs,
                get(base, phone=waba["phones"][1][0][-4:]),
                results,
            )
            await timed("all events (all=1), first page", runs, get(base, all="1"), results)
            await timed("open only (open=1)", runs, get(base, open="1"), results)
            await timed("filtered: q=text (ranges of 10,000+ rows)", runs, get(base, q="shop 42"), results)
            await timed(
                f"deep keyset page ({deep_offset:,} rows down)", runs, get(base, before=cursor), results
            )
            await timed("overview (10 WABA cards, open counts)", runs, get(f"/o/{slug}"), results)
            export_params = {"waba": waba["id"], "since": since.isoformat()}
            cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
            for kind in ("csv", "json"):
                await timed_stream(
                    f"export {kind.upper()}, {export_rows:,} rows",
                    max(5, runs // 3),
                    app,
                    f"{base[:-7]}/events.{kind}",
                    urlencode(export_params),
                    cookie,
                    results,
                )
    return results


def settings_for(url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        env="development",
        secret_key="bench-secret-key-0123456789-abcdefghijklmnop",
        encryption_keys=Fernet.generate_key().decode(),
        base_url="http://testserver",
        password_hash_fast=True,
        smtp_url=None,
        oidc_discovery_url=None,
        oidc_client_id=None,
        worker_in_process=False,
    )


async def main_async(args: argparse.Namespace) -> None:
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # one line per request would swamp the figures
    with tempfile.TemporaryDirectory() as workdir:
        if args.db:
            url = args.db
        else:
            url = f"sqlite:///{Path(args.sqlite) if args.sqlite else Path(workdir) / 'bench.sqlite3'}"
        print(f"database: {'PostgreSQL' if args.db else 'SQLite'}; {args.events:,} events", flush=True)
        settings = settings_for(url)
        if args.reuse:
            await asyncio.to_thread(upgrade_head, url)
            app = create_app(settings)
            async with app.web.router.lifespan_context(app.web):
                fleet = await find_fleet(app.state.services.db)
            await measure(settings, fleet, args.runs, args.events)
            return
        if args.db:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
                conn.execute("CREATE SCHEMA public")
        elif args.sqlite:
            Path(args.sqlite).unlink(missing_ok=True)
        await asyncio.to_thread(upgrade_head, url)
        app = create_app(settings)
        async with app.web.router.lifespan_context(app.web):
            fleet = await make_fleet(app.state.services.db)
        start = time.perf_counter()
        if args.db:
            await asyncio.to_thread(load_postgres, url, fleet, args.events)
        else:
            await asyncio.to_thread(load_sqlite, url.removeprefix("sqlite:///"), fleet, args.events)
        print(f"bulk load + index rebuild: {time.perf_counter() - start:.1f} s", flush=True)
        await measure(settings, fleet, args.runs, args.events)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="postgresql://… URL of a THROWAWAY database (its schema is dropped)")
    parser.add_argument("--sqlite", help="SQLite file to build (replaced) or reuse; kept after the run")
    parser.add_argument("--reuse", action="store_true", help="measure an earlier run's database again")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
