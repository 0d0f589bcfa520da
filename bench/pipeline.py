"""End-to-end pipeline benchmark: from signed POSTs to stored events (run by hand, not in CI).

    .venv/bin/python -m bench.pipeline [--db postgresql://127.0.0.1:5432/DBNAME] [--workers 1]
        [--deliveries 10000] [--clients 16] [--wabas 20] [--fixed-rate 1000 --fixed-seconds 60]

Starts wabawatch as the Procfile does on a fresh database (a temporary SQLite file by default, the
worker inside the web process; with ``--db`` the PostgreSQL database's public schema is DROPPED and
rebuilt, and ``--workers`` ``wabawatch worker`` processes run beside the web process), registers an
app and ``--wabas`` WABAs through the CLI, then:

1. burst: posts N distinct signed deliveries of a realistic mix (7 in 10 message statuses, the rest
   phone quality, template status and account updates) from K keep-alive clients, closed loop.
   Prints the intake rate (the baseline of this run), the end-to-end rate (deliveries over the time
   from the first POST to the moment nothing is pending), their ratio, the time from the last 200 to
   the last event, and the oldest-pending lag that /metrics reports, sampled every second;
2. fixed rate (``--fixed-rate``, SQLite by default): an open loop at R deliveries/s for S seconds, with
   the ack p50/p99 and the largest lag sampled.

Targets: end-to-end/intake >= 0.5 on SQLite and on PostgreSQL with one worker; two workers drain a
backlog faster than one (compare two runs' drain times); at 1,000/s for 60 s on SQLite the lag stays
under 2 s and the ack p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
from cryptography.fernet import Fernet

from app.simulator.base import Change
from app.simulator.payloads import PayloadFactory, SimWaba, meta_json_bytes
from bench.ingest import (
    APP_ID,
    ROOT,
    SECRET,
    Database,
    Server,
    asyncio_load,
    cpu_seconds,
    fixed_rate,
    run_cli,
    signature,
)

METRICS_TOKEN = "bench-metrics-token"
ORG = "bench"
LAG_RE = re.compile(r"^wabawatch_processing_lag_seconds (\S+)$", re.M)
PENDING_RE = re.compile(r'^wabawatch_processing_pending\{kind="(\w+)"\} (\S+)$', re.M)


def waba_ids(count: int) -> list[str]:
    return [f"10{n:013d}" for n in range(1, count + 1)]


class Mix:
    """Distinct bodies, one change each: 7 in 10 message statuses, the rest account signals."""

    def __init__(self, wabas: list[str], seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.factory = PayloadFactory(random.Random(seed + 1))
        self.wabas = [SimWaba.for_id(w) for w in wabas]

    def change(self) -> Change:
        waba = self.rng.choice(self.wabas)
        roll = self.rng.random()
        if roll < 0.7:
            _, value = self.factory.messaging_value(waba)
            value["statuses"] = [self.factory.status()]
            return Change(waba.waba_id, "messages", value, has_time=False)
        field = self.rng.choice(
            ["phone_number_quality_update", "message_template_status_update", "account_update"]
        )
        return self.factory.change(field, waba)

    def bodies(self, count: int) -> list[bytes]:
        return [meta_json_bytes(self.factory.envelope([self.change()])) for _ in range(count)]


@contextlib.contextmanager
def pipeline(db: Database, *, workers: int, wabas: list[str]) -> Iterator[Server]:
    db.reset()
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "BASE_URL": "http://127.0.0.1",
        "ENV": "development",
        "METRICS_TOKEN": METRICS_TOKEN,
        "WORKER_IN_PROCESS": "true" if db.is_sqlite else "false",
    }
    run_cli(env, "db", "upgrade")
    run_cli(env, "app", "add", APP_ID, "--verify-token", "bench-token", stdin=SECRET + "\n")
    run_cli(
        env, "user", "create", "bench@example.com", "--org", ORG, "--role", "owner", stdin="bench-pass-123\n"
    )
    for waba in wabas:
        run_cli(env, "waba", "add", waba, "--org", ORG, "--app", APP_ID)
    app = Server("app.main:app", env, "/healthz")
    procs = []
    if not db.is_sqlite:
        procs = [
            subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, cwd=ROOT)
            for _ in range(workers)
        ]
    try:
        app.start()
        app.worker_pids = [proc.pid for proc in procs]
        yield app
    finally:
        app.stop()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def server_cpu(server: Server) -> float:
    """CPU seconds used so far by the web process and the worker processes (where they are apart)."""
    pids = [server.proc.pid] if server.proc is not None else []
    return sum(cpu_seconds(pid) or 0.0 for pid in [*pids, *server.worker_pids])


class LagSampler:
    """Reads /metrics every second: the lag it reports and how much is pending."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.samples: list[tuple[float, float, int]] = []  # (t, lag s, pending deliveries + changes)
        self.started = time.monotonic()

    async def sample(self, client: httpx2.AsyncClient) -> tuple[float, int]:
        text = (
            await client.get(self.base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        ).text
        match = LAG_RE.search(text)
        lag = float(match.group(1)) if match else float("nan")
        pending = sum(int(float(n)) for _, n in PENDING_RE.findall(text))
        self.samples.append((time.monotonic() - self.started, lag, pending))
        return lag, pending

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx2.AsyncClient(timeout=10) as client:
            while not stop.is_set():
                await self.sample(client)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)

    def line(self) -> str:
        lags = [f"{lag:.1f}" for _, lag, _ in self.samples]
        return "  lag each second (s): " + " ".join(lags)

    @property
    def max_lag(self) -> float:
        return max((lag for _, lag, _ in self.samples), default=0.0)


async def drained(base: str, timeout: float = 600.0) -> float:
    """Waits until nothing is pending; the monotonic time when that was first seen."""
    sampler = LagSampler(base)
    deadline = time.monotonic() + timeout
    async with httpx2.AsyncClient(timeout=10) as client:
        while time.monotonic() < deadline:
            _, pending = await sampler.sample(client)
            if pending == 0:
                return time.monotonic()
            await asyncio.sleep(0.05)
    raise SystemExit("the backlog did not drain in time")


def event_count(db: Database) -> int:
    return int(db.query("SELECT count(*) FROM events")[0][0])  # type: ignore[call-overload]


async def burst(db: Database, server: Server, args: argparse.Namespace, wabas: list[str]) -> dict[str, float]:
    bodies = Mix(wabas).bodies(args.deliveries)
    signed = [(b, signature(b).encode()) for b in bodies]
    sampler = LagSampler(server.base)
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler.run(stop))
    started, cpu_before = time.monotonic(), server_cpu(server)
    result, _ = await asyncio_load("burst", server.port, signed, args.clients, 600)
    intake_done = time.monotonic()
    done_at = await drained(server.base)
    stop.set()
    await sampling
    cpu = server_cpu(server) - cpu_before
    events = event_count(db)
    intake = result.ok / (intake_done - started)
    end_to_end = result.ok / (done_at - started)
    print(f"  {result.line()}")
    print(
        f"  intake {intake:,.0f}/s (baseline)  end to end {end_to_end:,.0f} deliveries/s  "
        f"ratio {end_to_end / intake:.2f}  last 200 -> last event {done_at - intake_done:.1f} s  "
        f"events {events}"
    )
    # What bounds both rates on a small machine: the CPU a delivery costs, intake to stored event.
    print(f"  server CPU {1000 * cpu / result.ok:.2f} ms a delivery, intake to event ({cpu:.1f} s in all)")
    print(sampler.line())
    return {
        "intake": intake,
        "end_to_end": end_to_end,
        "drain": done_at - intake_done,
        "ratio": end_to_end / intake,
    }


async def steady(server: Server, args: argparse.Namespace, wabas: list[str]) -> None:
    total = int(args.fixed_rate * args.fixed_seconds)
    bodies = Mix(wabas, seed=11).bodies(total)
    sampler = LagSampler(server.base)
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler.run(stop))
    result = await fixed_rate(server.port, bodies, args.fixed_rate, args.fixed_seconds)
    stop.set()
    await sampling
    print(f"  {result.line()}")
    print(
        f"  largest lag {sampler.max_lag:.1f} s (target < 2 s), ack p99 {result.p99_ms:.1f} ms (target < 50 ms)"
    )
    print(sampler.line())


async def main_async(args: argparse.Namespace) -> None:
    wabas = waba_ids(args.wabas)
    with tempfile.TemporaryDirectory(prefix="wabawatch-pipeline-") as tmp:
        db = Database(args.db, Path(tmp))
        kind = "SQLite (worker in process)" if db.is_sqlite else f"PostgreSQL ({args.workers} worker(s))"
        print(
            f"pipeline on {kind}: {args.deliveries} deliveries from {args.clients} clients, {len(wabas)} WABAs"
        )
        if args.deliveries:
            with pipeline(db, workers=args.workers, wabas=wabas) as server:
                await burst(db, server, args, wabas)
        if args.fixed_rate:
            print(f"fixed rate {args.fixed_rate:.0f}/s for {args.fixed_seconds:.0f} s")
            with pipeline(db, workers=args.workers, wabas=wabas) as server:
                await steady(server, args, wabas)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--deliveries", type=int, default=10_000, help="0: no burst (only the fixed rate)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--wabas", type=int, default=20)
    parser.add_argument("--fixed-rate", type=float, default=0.0)
    parser.add_argument("--fixed-seconds", type=float, default=60.0)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
