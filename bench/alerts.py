"""Alert latency benchmark (run by hand, not in CI).

    .venv/bin/python -m bench.alerts [--db postgresql://127.0.0.1:5432/DBNAME] [--rate 50] [--duration 20]

Starts wabawatch under uvicorn on a fresh database (a temporary SQLite file by default; with ``--db``
the PostgreSQL database's public schema is DROPPED and rebuilt, so give it a throwaway database), with
a real SMTP server (aiosmtpd) and a local HTTP receiver standing in for Slack, both on loopback. It
seeds an org whose rule sends every critical event to an email address and a Slack webhook (grouping
off, so each event is one alert), then POSTs distinct, correctly signed critical webhooks at a fixed
rate and measures, per event, the time from the start of its POST to the moment the SMTP server and the
Slack receiver have its alert (matched by the event's phone number). Prints p50/p95/max for both,
how many alerts never arrived and how fast the POSTs were answered: first alone (the baseline of the
run), then with webhook intake running beside it (``--intake-rate``, default 500 message statuses a
second, open loop), which is the target: p95 under 2 s with nothing missing. On SQLite the worker runs
inside the web process (the default); on PostgreSQL a ``wabawatch worker`` process runs beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import psycopg
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from sqlalchemy import update
from werkzeug import Request, Response
from werkzeug.serving import WSGIRequestHandler, make_server

from app.simulator.base import signature
from bench.ingest import Connection, Server, free_port

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "5550001111"
SECRET = "b3nch-al3rts-s3cr3t-0123456789"
WABA_ID = "102290129340398"
HOOK_PATH = "/services/TBENCH/BBENCH/benchsecret"
PHONE_RE = re.compile(r"\+(1666\d{7})")


class Arrivals:
    """When each phone number's alert reached a receiver (first arrival only)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[str, float] = {}
        self.total = 0

    def mark(self, text: str) -> None:
        now = time.monotonic()
        with self.lock:
            # Messages show numbers formatted for people ("+1 666-000-0001"): matched without the spacing.
            for phone in set(PHONE_RE.findall(re.sub(r"[\s\-()]", "", text))):
                self.total += 1
                self.seen.setdefault(phone, now)


class SmtpSink:
    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrivals.mark(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


def slack_app(arrivals: Arrivals) -> Any:
    @Request.application  # type: ignore[misc]
    def app(request: Request) -> Response:
        arrivals.mark(request.get_data(as_text=True))
        return Response("ok")

    return app


class KeepAlive(WSGIRequestHandler):
    """Slack keeps connections open (HTTP/1.1); werkzeug's default (HTTP/1.0) would make every
    alert pay for a new connection."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Quiet: a line per alert would bury the figures."""


def reset(url: str) -> None:
    if url.startswith("postgresql"):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")


async def seed(url: str, keys: str, slack_url: str) -> None:
    from app.alerts import service as alerts
    from app.alerts.models import AlertRule, AlertRuleChannel
    from app.alerts.url_guard import UrlPolicy
    from app.db.engine import Database, make_engine
    from app.db.types import set_keyring
    from app.lib.crypto import Keyring
    from app.meta import service as meta
    from app.orgs import service as orgs
    from app.tenancy.context import OrgContext
    from app.tenancy.models import Role, User
    from app.wabas import service as wabas

    set_keyring(Keyring(keys))
    db = Database(make_engine(url))
    try:
        async with db.transaction() as session:
            owner = User(email="owner@bench.example", email_verified=True)
            session.add(owner)
            await session.flush()
            org = await orgs.create_org(session, name="Bench", owner=owner, slug="bench")
            ctx = OrgContext(org=org, user=owner, role=Role.OWNER)
            saved = await meta.save_app(
                session, org_id=None, app_id=APP_ID, name="bench", app_secret=SECRET, verify_token="t"
            )
            await wabas.register_waba(session, org=org, app=saved.app, waba_id=WABA_ID, name="Bench WABA")
            policy = UrlPolicy(allowed_hosts=frozenset({"127.0.0.1"}), allow_loopback=True)
            slack = await alerts.add_slack_channel(session, ctx, url=slack_url, name="bench", policy=policy)
            # The default rule (critical → owners by email), ungrouped, and to Slack as well.
            await session.execute(update(AlertRule).values(throttle_minutes=0))
            rule_id = (await alerts.queries.rules(session, org_id=org.id))[0].id
            session.add(AlertRuleChannel(rule_id=rule_id, channel_id=slack.id))
    finally:
        await db.dispose()


def webhook_body(n: int) -> tuple[str, bytes]:
    phone = f"1666{n:07d}"
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "time": 1764000000 + n,
                "changes": [
                    {
                        "field": "phone_number_quality_update",
                        "value": {
                            "display_phone_number": phone,
                            "event": "DOWNGRADE",
                            "current_limit": "TIER_1K",
                        },
                    }
                ],
            }
        ],
    }
    return phone, json.dumps(payload, separators=(",", ":")).encode()


async def load(
    base: str, rate: float, duration: float, first: int = 0
) -> tuple[dict[str, float], list[float], int]:
    """POSTs at ``rate`` per second for ``duration`` seconds; the start time of each, how long each
    took to answer, and how many were not 200."""
    started: dict[str, float] = {}
    answered: list[float] = []
    failures = 0
    url = f"{base}/webhooks/whatsapp/{APP_ID}"
    async with httpx2.AsyncClient(timeout=10) as client:

        async def post(n: int) -> None:
            nonlocal failures
            phone, body = webhook_body(first + n)
            sig = signature(SECRET, body)
            started[phone] = time.monotonic()
            try:
                response = await client.post(
                    url,
                    content=body,
                    headers={"X-Hub-Signature-256": sig, "Content-Type": "application/json"},
                )
                answered.append(time.monotonic() - started[phone])
                if response.status_code != 200:
                    failures += 1
            except httpx2.TransportError:
                failures += 1

        tasks = []
        begin = time.monotonic()
        for n in range(int(rate * duration)):
            delay = begin + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(n)))
        await asyncio.gather(*tasks)
    return started, sorted(answered), failures


def status_body(n: int) -> bytes:
    """A message-status webhook (no alert: the rule wants critical events) for the intake beside."""
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            "statuses": [
                                {
                                    "id": f"wamid.bench{n}",
                                    "status": "delivered",
                                    "timestamp": str(1_760_000_000 + n),
                                    "recipient_id": "16315551181",
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


async def intake(port: int, rate: float, duration: float) -> tuple[int, int]:
    """Message statuses at ``rate`` per second, open loop, beside the alerts: (sent, answered 200)."""
    path = f"/webhooks/whatsapp/{APP_ID}".encode()
    idle: list[Connection] = []
    ok = 0

    async def one(n: int) -> None:
        nonlocal ok
        body = status_body(n)
        # A kept-alive connection the server has closed meanwhile fails at once: like any HTTP
        # client, send again once on a new connection (Meta's own client retries a failed delivery).
        for conn in ([idle.pop()] if idle else []) + [Connection(port)]:
            try:
                status = await conn.post(path, body, signature(SECRET, body).encode())
            except (OSError, asyncio.IncompleteReadError):
                conn.close()
                continue
            ok += status == 200
            idle.append(conn)
            return

    tasks = []
    begin = time.monotonic()
    total = int(rate * duration)
    for n in range(total):
        delay = begin + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()
    return total, ok


async def phase(
    server: Server, args: argparse.Namespace, *, intake_rate: float, offset: int
) -> tuple[dict[str, float], list[float], int]:
    first = offset * 1_000_000 // 10
    if not intake_rate:
        return await load(server.base, args.rate, args.duration, first)
    (started, answered, failures), (sent, ok) = await asyncio.gather(
        load(server.base, args.rate, args.duration, first), intake(server.port, intake_rate, args.duration)
    )
    print(f"intake beside: {sent} message statuses at {intake_rate:.0f}/s, {ok} answered 200")
    return started, answered, failures


def report(label: str, started: dict[str, float], arrivals: Arrivals) -> bool:
    latencies = sorted(arrivals.seen[p] - t for p, t in started.items() if p in arrivals.seen)
    missing = len(started) - len(latencies)
    if not latencies:
        print(f"{label:<6} no alerts arrived ({missing} missing)")
        return False
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(
        f"{label:<6} {len(latencies):>5} alerts  p50 {statistics.median(latencies) * 1000:7.0f} ms  "
        f"p95 {p95 * 1000:7.0f} ms  max {latencies[-1] * 1000:7.0f} ms  missing {missing}  "
        f"(messages received {arrivals.total})"
    )
    return p95 < 2.0 and missing == 0


def outbox_latencies(url: str) -> list[int]:
    """The delivery log's latency_ms (outbox row written → message accepted) of every sent alert."""
    sql = "SELECT latency_ms FROM alert_deliveries WHERE status = 'sent' ORDER BY latency_ms"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            return [int(r[0]) for r in conn.execute(sql)]
    with psycopg.connect(url) as conn:
        return [int(r[0]) for r in conn.execute(sql)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="a throwaway PostgreSQL database (its schema is dropped)")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument(
        "--intake-rate", type=float, default=500.0, help="message statuses/s beside the alerts"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wabawatch-bench-alerts-"))
    url = args.db or f"sqlite:///{workdir / 'bench.sqlite3'}"
    reset(url)

    mail, slack = Arrivals(), Arrivals()
    smtp_port = free_port()
    smtp = Controller(SmtpSink(mail), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    slack_server = make_server("127.0.0.1", 0, slack_app(slack), threaded=True, request_handler=KeepAlive)
    threading.Thread(target=slack_server.serve_forever, daemon=True).start()
    slack_url = f"http://127.0.0.1:{slack_server.server_port}{HOOK_PATH}"

    keys = Fernet.generate_key().decode()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ENCRYPTION_KEYS": keys,
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "BASE_URL": "http://127.0.0.1",
        "ENV": "development",
        "SMTP_URL": f"smtp+plain://127.0.0.1:{smtp_port}",
        "SLACK_ALLOWED_HOSTS": "127.0.0.1",
        "ALERTS_ALLOW_LOOPBACK_TARGETS": "true",
        "WORKER_IN_PROCESS": "true" if url.startswith("sqlite") else "false",
    }
    subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], env=env, cwd=ROOT, check=True)
    asyncio.run(seed(url, keys, slack_url))
    server = Server("app.main:app", env, "/healthz")
    worker = None
    ok = False
    try:
        server.start()
        if not url.startswith("sqlite"):
            worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, cwd=ROOT)
        # The baseline first (alerts alone), then the target: the same with intake beside them.
        ok = True
        for n, intake_rate in enumerate((0.0, args.intake_rate)):
            mail.seen.clear()
            slack.seen.clear()
            print(
                f"{'postgresql' if worker else 'sqlite'}: {args.rate:.0f} critical webhooks/s for "
                f"{args.duration:.0f} s, intake beside at {intake_rate:.0f}/s"
                + (" (baseline)" if n == 0 else "")
            )
            started, answered, failures = asyncio.run(phase(server, args, intake_rate=intake_rate, offset=n))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                len(mail.seen) < len(started) or len(slack.seen) < len(started)
            ):
                time.sleep(0.2)
            p95_answer = answered[int(len(answered) * 0.95) - 1]
            print(
                f"webhooks {len(started)} (non-200: {failures}), answered in p50 "
                f"{statistics.median(answered) * 1000:.0f} ms  p95 {p95_answer * 1000:.0f} ms"
            )
            passed = report("email", started, mail) & report("slack", started, slack)
            if n > 0:
                ok = ok and passed
        leg = outbox_latencies(url)
        if leg:
            print(
                f"outbox → sent (delivery log, {len(leg)} rows): p50 {statistics.median(leg):.0f} ms  "
                f"p95 {leg[max(0, int(len(leg) * 0.95) - 1)]} ms"
            )
        print("with intake beside: p95 under 2 s, nothing missing:", "yes" if ok else "NO")
    finally:
        server.stop()
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(15)
        smtp.stop()
        slack_server.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
