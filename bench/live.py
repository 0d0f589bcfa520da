"""Live-update latency benchmark (run by hand, not in CI).

    .venv/bin/python -m bench.live [--db postgresql://127.0.0.1:5432/DBNAME] [--events 200]
                                   [--worker in-process|separate]

Starts wabawatch under uvicorn on a fresh database (a temporary SQLite file by default; with
``--db`` the PostgreSQL database's public schema is DROPPED and rebuilt, so give it a throwaway
database), registers a user, an app and a WABA with the ``wabawatch`` CLI, signs in and opens
``/o/bench/events/stream``. Then it posts N distinct signed webhooks one at a time and, for each,
measures from just before the POST to the arrival of its row on the open stream (the row is
recognised by its time: each change has its own entry time).

The baseline in the same run is the POST's own answer time (stored, 200). On PostgreSQL the worker
runs in the web process (``in-process``, woken by the receiver) or as ``wabawatch worker``
(``separate``: the Procfile's layout, the event crosses processes through NOTIFY/LISTEN).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx2
from cryptography.fernet import Fernet

from bench.ingest import ROOT, Database, Server, signature
from bench.ingest import SECRET as APP_SECRET

APP_ID = "1029384756"
WABA = "102290129340398"
EMAIL = "bench@wabawatch.example"
PASSWORD = "bench-password-123"
TARGET_P95_MS = 500.0


def cli(env: dict[str, str], *args: str, stdin: str = "") -> None:
    subprocess.run(
        [sys.executable, "-m", "app.cli", *args], input=stdin.encode(), env=env, cwd=ROOT, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def entry_time(n: int) -> int:
    return 1_764_000_000 + 60 * n


def shown_time(n: int) -> str:
    """How the timeline row shows the event's time (its occurred_at is the entry time)."""
    return datetime.fromtimestamp(entry_time(n), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def body(n: int) -> bytes:
    """A distinct phone-number quality change; its entry time identifies it on the stream."""
    value = {"display_phone_number": "15550783881", "event": "FLAGGED", "current_limit": "TIER_2K"}
    change = {"field": "phone_number_quality_update", "value": value}
    entry = {"id": WABA, "time": entry_time(n), "changes": [change]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def sign_in(client: httpx2.AsyncClient) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on /login"
    answer = await client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token[1]})
    assert answer.status_code == 303, answer.status_code


async def measure(base: str, events: int) -> tuple[list[float], list[float]]:
    arrivals: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
    live = asyncio.Event()
    async with (
        httpx2.AsyncClient(base_url=base, timeout=30) as browser,
        httpx2.AsyncClient(base_url=base, timeout=30) as meta,
    ):
        await sign_in(browser)

        async def read() -> None:
            async with browser.stream("GET", "/o/bench/events/stream") as response:
                assert response.status_code == 200, response.status_code
                data: list[str] = []
                async for line in response.aiter_lines():
                    if line == ": live":
                        live.set()
                    elif line.startswith("data:"):
                        data.append(line[5:])
                    elif line == "" and data:
                        arrivals.put_nowait((time.perf_counter(), "\n".join(data)))
                        data = []

        reader = asyncio.create_task(read())
        await asyncio.wait_for(live.wait(), 10)
        answer_ms: list[float] = []
        arrive_ms: list[float] = []
        rng = random.Random(1)
        for n in range(events):
            payload = body(n)
            started = time.perf_counter()
            response = await meta.post(
                f"/webhooks/whatsapp/{APP_ID}",
                content=payload,
                headers={"X-Hub-Signature-256": signature(payload), "Content-Type": "application/json"},
            )
            answered = time.perf_counter()
            assert response.status_code == 200, response.status_code
            while True:
                at, data = await asyncio.wait_for(arrivals.get(), 10)
                if shown_time(n) in data:
                    break
            answer_ms.append((answered - started) * 1000)
            arrive_ms.append((at - started) * 1000)
            await asyncio.sleep(rng.uniform(0, 0.05))  # not in step with any poll interval
        reader.cancel()
        return answer_ms, arrive_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="PostgreSQL URL of a THROWAWAY database (its schema is dropped)")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--worker", choices=["in-process", "separate"], default="in-process")
    args = parser.parse_args()
    if args.worker == "separate" and not args.db:
        parser.error("--worker separate needs PostgreSQL (SQLite runs its worker in the web process)")

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.db, Path(tmp))
        db.reset()
        env = {
            **os.environ,
            "DATABASE_URL": db.url,
            "ENV": "development",
            "SECRET_KEY": "bench-live-secret-key-0123456789abcdefghij",
            "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "BASE_URL": "http://127.0.0.1",
            "PASSWORD_HASH_FAST": "true",
            "WORKER_IN_PROCESS": "true" if args.worker == "in-process" else "false",
        }
        env.pop("SMTP_URL", None)
        cli(env, "db", "upgrade")
        cli(env, "user", "create", EMAIL, "--org", "bench", "--role", "owner", stdin=PASSWORD + "\n")
        cli(
            env,
            "app",
            "add",
            APP_ID,
            "--verify-token",
            "bench-verify",
            "--org",
            "bench",
            stdin=APP_SECRET + "\n",
        )
        cli(env, "waba", "add", WABA, "--org", "bench", "--app", APP_ID, "--name", "Bench")
        server = Server("app.main:app", env, "/healthz")
        worker: subprocess.Popen[bytes] | None = None
        try:
            server.start()
            if args.worker == "separate":
                worker = subprocess.Popen(
                    [sys.executable, "-m", "app.cli", "worker"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL
                )
            answer_ms, arrive_ms = asyncio.run(measure(server.base, args.events))
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(15)
            server.stop()

    kind = "sqlite" if db.is_sqlite else f"postgresql, worker {args.worker}"
    print(
        f"live updates, {kind}: {args.events} webhooks posted one at a time, each awaited on an open SSE stream"
    )
    print(
        f"  load average before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    for name, values in (("POST answered (baseline)", answer_ms), ("POST -> row on the stream", arrive_ms)):
        print(
            f"  {name:27} p50 {pct(values, 0.5):7.1f} ms  p95 {pct(values, 0.95):7.1f} ms  "
            f"max {max(values):7.1f} ms  mean {statistics.fmean(values):7.1f} ms"
        )
    p95 = pct(arrive_ms, 0.95)
    verdict = "meets" if p95 < TARGET_P95_MS else "MISSES"
    print(f"  target p95 < {TARGET_P95_MS:.0f} ms: {verdict} ({p95:.1f} ms)")
    return 0 if p95 < TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
