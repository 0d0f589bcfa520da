"""Staff search benchmark at 1,000 orgs x 20 WABAs x 5 numbers (run by hand, not in CI).

    .venv/bin/python -m bench.staff_search [--db postgresql://127.0.0.1:5432/DBNAME | --sqlite FILE]
        [--orgs 1000] [--events 200000] [--runs 30]

Builds a fresh database (a temporary SQLite file by default; with ``--db`` the PostgreSQL
database's public schema is DROPPED and rebuilt, so give it a throwaway database), migrates it to
head and loads 1,000 orgs (names with accents here and there, an owner each), 20 WABAs per org,
5 numbers per WABA (digits, phone_number_id, verified name) and ``--events`` events, half of them
failed message statuses with a wamid and a quarter template updates with a template name. Then the
staff search's indexer catches up from nothing (its time is printed: what a first deploy costs).

Measured, as p50/p95 over ``--runs`` calls against the 100 ms target: ``app.staff.queries.search``
for a fragment of each kind (partial number, whole number, partial WABA id, accent-free name,
display-name fragment, whole and partial wamid, template, email, app id), and the whole
``/staff?q=`` page (server time, in process: search, cards, audit rows). Baseline in the same run:
a bare primary-key ``SELECT``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import psycopg
from cryptography.fernet import Fernet
from sqlalchemy import insert, select, text

from app.db.engine import Database
from app.db.migrate import upgrade_head
from app.events.models import Event
from app.main import create_app
from app.settings import Settings
from app.staff import queries, terms
from app.tenancy.models import Membership, Organization, User
from app.wabas.models import PhoneNumber, Waba
from tests.factories import PASSWORD, create_meta_app, create_user, login

TARGET_MS = 100.0
WABAS_PER_ORG, PHONES_PER_WABA = 20, 5
ACCENTED = ["Müller", "Björk", "Señora", "Café", "Zoë", "Ångström", "Łódź", "Crème"]
PLAIN = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark"]
START = datetime(2026, 9, 1, tzinfo=UTC)
# The org the queries are after (its values are unique in the load).
TARGET = {"org": "Müller Outdoor Zentrale", "digits": "14152627707", "waba": "104996122399160"}


def pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _insert(db: Database, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        async with db.transaction() as session:
            await session.execute(insert(model), rows[start : start + 5000])


async def load(db: Database, orgs: int, events: int) -> dict[str, str]:
    """Loads the fleet; returns the values the queries look for."""
    rng = random.Random(7)
    app = await create_meta_app(db, app_id="1234567890123")
    now = datetime.now(UTC)
    org_rows = [
        {
            "name": TARGET["org"]
            if i == orgs // 2
            else f"{rng.choice(ACCENTED + PLAIN)} {rng.choice(PLAIN)} {i}",
            "slug": f"org{i}",
            "created_at": now,
        }
        for i in range(orgs)
    ]
    await _insert(db, Organization, org_rows)
    await _insert(
        db, User, [{"email": f"owner{i}@org{i}.example", "name": "", "created_at": now} for i in range(orgs)]
    )
    async with db.read() as session:
        org_ids = list(await session.scalars(select(Organization.id).order_by(Organization.id)))
        user_ids = list(await session.scalars(select(User.id).order_by(User.id)))
    await _insert(
        db,
        Membership,
        [
            {"org_id": o, "user_id": u, "role": "owner", "created_at": now}
            for o, u in zip(org_ids, user_ids, strict=True)
        ],
    )
    waba_rows = []
    for i, org_id in enumerate(org_ids):
        for w in range(WABAS_PER_ORG):
            target = i == orgs // 2 and w == 0
            waba_rows.append(
                {
                    "org_id": org_id,
                    "app_pk": app.id,
                    "waba_id": TARGET["waba"] if target else str(rng.randrange(10**14, 10**15)),
                    "name": "Björk Outdoor" if target else f"{rng.choice(ACCENTED + PLAIN)} line {w}",
                    "created_at": now,
                    "silent_after_hours": 24,
                }
            )
    await _insert(db, Waba, waba_rows)
    async with db.read() as session:
        wabas = (await session.execute(select(Waba.id, Waba.org_id, Waba.waba_id).order_by(Waba.id))).all()
    phone_rows = []
    for n, (waba_pk, org_id, _waba_id) in enumerate(wabas):
        for p in range(PHONES_PER_WABA):
            target = n == (orgs // 2) * WABAS_PER_ORG and p == 0
            digits = TARGET["digits"] if target else "1" + str(rng.randrange(10**9, 10**10))
            phone_rows.append(
                {
                    "org_id": org_id,
                    "waba_pk": waba_pk,
                    "phone_number_id": str(rng.randrange(10**14, 10**15)),
                    "digits": digits,
                    "display_phone_number": digits,
                    "verified_name": f"{rng.choice(ACCENTED + PLAIN)} Store {p}",
                    "created_at": now,
                }
            )
    await _insert(db, PhoneNumber, phone_rows)
    event_rows = []
    wamid = ""
    for e in range(events):
        waba_pk, org_id, waba_id = wabas[rng.randrange(len(wabas))]
        details: dict[str, Any]
        if e % 4 < 2:
            wamid = "wamid.HBgL" + "".join(
                rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(40)
            )
            field, kind, details = "messages", "status_failed", {"message_id": wamid, "status": "failed"}
        elif e % 4 == 2:
            field, kind = "message_template_status_update", "approved"
            details = {
                "template_name": f"{rng.choice(['order', 'frühling', 'promo', 'otp'])}_update_{e % 5000}"
            }
        else:
            field, kind, details = "phone_number_quality_update", "downgrade", {"event": "DOWNGRADE"}
        at = START + timedelta(seconds=e)
        event_rows.append(
            {
                "seq": 0,
                "app_pk": app.id,
                "org_id": org_id,
                "waba_pk": waba_pk,
                "waba_id": waba_id,
                "field": field,
                "kind": kind,
                "severity": 1,
                "occurred_at": at,
                "received_at": at,
                "summary": f"{field} {kind}",
                "details": details,
            }
        )
    await _insert(db, Event, event_rows)
    return {"wamid": wamid}


async def index_all(db: Database) -> float:
    start = time.perf_counter()
    while True:
        async with db.transaction() as session:
            await terms.index_new_names(session)
            done = await terms.index_events(session)
        if done == 0:
            break
    async with db.transaction() as session:
        await terms.refresh_names(session)
    return time.perf_counter() - start


async def timed(label: str, runs: int, call: Callable[[], Awaitable[int]], target: float | None) -> None:
    for _ in range(3):
        await call()
    times: list[float] = []
    found = 0
    for _ in range(runs):
        start = time.perf_counter()
        found = await call()
        times.append((time.perf_counter() - start) * 1000)
    p50, p95 = statistics.median(times), pct(times, 95)
    verdict = "" if target is None else ("ok" if p95 <= target else "OVER")
    print(f"  {label:<46} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {verdict:>4}   ({found})", flush=True)


async def measure(settings: Settings, orgs: int, events: int, runs: int) -> None:
    app = create_app(settings)
    async with app.web.router.lifespan_context(app.web):
        db: Database = app.state.services.db
        start = time.perf_counter()
        found = await load(db, orgs, events)
        print(f"load: {time.perf_counter() - start:.1f} s", flush=True)
        print(f"indexer catching up from nothing: {await index_all(db):.1f} s", flush=True)
        async with db.read() as session:
            print(f"terms: {await terms.term_count(session):,}", flush=True)
        staff = await create_user(db, email="bench-staff@wabawatch.example", staff=True)

        async def bare() -> int:
            async with db.read() as session:
                return len((await session.execute(text("SELECT id FROM organizations WHERE id = 1"))).all())

        print("baseline (same run):", flush=True)
        await timed("bare primary-key SELECT", runs, bare, None)
        cases = [
            ("partial number '7707' style: '262-7707'", "262-7707"),
            ("whole number '+1 (415) 262-7707'", "+1 (415) 262-7707"),
            ("partial WABA id '49961223'", "49961223"),
            ("accent-free name 'muller outdoor'", "muller outdoor"),
            ("display-name fragment 'bjork out'", "bjork out"),
            ("whole wamid", found["wamid"]),
            ("wamid fragment (20 chars)", found["wamid"][12:32]),
            ("template name 'fruhling_update_42'", "fruhling_update_42"),
            ("email 'owner500@org500'", f"owner{orgs // 2}@org{orgs // 2}"),
            ("Meta app id fragment '4567890'", "4567890"),
        ]
        print("app.staff.queries.search:", flush=True)
        for label, q in cases:

            async def query(q: str = q) -> int:
                async with db.read() as session:
                    return len(await queries.search(session, q))

            await timed(label, runs, query, TARGET_MS)
        async with httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://testserver", timeout=60
        ) as client:
            await login(client, staff, PASSWORD)
            print(
                "whole /staff?q= page (server time: index catch-up, search, cards, audit rows):", flush=True
            )
            for label, q in (cases[0], cases[3], cases[5]):

                async def page(q: str = q) -> int:
                    answer = await client.get("/staff", params={"q": q})
                    assert answer.status_code == 200
                    return answer.text.count('data-testid="staff-hit"')

                await timed(label, runs, page, TARGET_MS)


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
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as workdir:
        url = args.db or f"sqlite:///{Path(args.sqlite) if args.sqlite else Path(workdir) / 'bench.sqlite3'}"
        print(
            f"database: {'PostgreSQL' if args.db else 'SQLite'}; {args.orgs:,} orgs x {WABAS_PER_ORG} WABAs x "
            f"{PHONES_PER_WABA} numbers, {args.events:,} events",
            flush=True,
        )
        if args.db:
            with psycopg.connect(args.db, autocommit=True) as conn:
                conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
                conn.execute("CREATE SCHEMA public")
        elif args.sqlite:
            Path(args.sqlite).unlink(missing_ok=True)
        await asyncio.to_thread(upgrade_head, url)
        await measure(settings_for(url), args.orgs, args.events, args.runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="postgresql://… URL of a THROWAWAY database (its schema is dropped)")
    parser.add_argument("--sqlite", help="SQLite file to build (replaced); kept after the run")
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
