"""Webhook intake benchmark (run by hand, not in CI).

    .venv/bin/python -m bench.ingest [--db postgresql://127.0.0.1:5432/DBNAME] [--concurrency 64] [--duration 10]

Starts wabawatch under uvicorn as the Procfile does, on a fresh database (a temporary SQLite file by
default; with ``--db`` the PostgreSQL database's public schema is DROPPED and rebuilt, so give it a
throwaway database), registers an app with ``wabawatch app add``, and in the same run a bare Starlette
endpoint that only reads the body. Then, on loopback, every phase bounded to 20 s:

1. throughput: distinct, correctly signed POSTs at concurrency C to the bare endpoint, then rounds
   of the receiver and the bare endpoint again (wrk with a Lua script over pre-generated signed
   bodies when wrk is installed, ``apt-get install wrk``; otherwise an asyncio load generator, which
   takes a good part of the CPU the servers share with it; the output says which): requests/s,
   p50/p99, the server's CPU time per request, and the median over the rounds of the receiver's
   throughput over the mean of the bare runs either side of it;
2. fixed rate: 300 req/s (asyncio, one request per tick) and its p50/p99, intake alone and then with
   the worker, after a 3 s warm-up at that rate that is not counted (the worker starting up);
3. crash: SIGKILL the server during load, restart it, and check that every delivery answered 200 is
   in the database (by sha256); then whether the processing worker finishes the pending deliveries.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import psycopg
from cryptography.fernet import Fernet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.simulator.base import signature as sign_body

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "1029384756"
SECRET = "b3nchm4rk-s3cr3t-0123456789abcdef"
MAX_PHASE_SECONDS = 20
WARMUP_SECONDS = 3.0


async def _bare(request: Request) -> Response:
    await request.body()
    return Response(status_code=200)


# The baseline: the same URL, reads the body, answers 200, does nothing else.
bare_app = Starlette(routes=[Route("/webhooks/whatsapp/{app_id}", _bare, methods=["POST"])])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def body_for(phase: str, n: int) -> bytes:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "time": 1764000000 + n,
                "changes": [
                    {
                        "field": "phone_number_quality_update",
                        "value": {
                            "display_phone_number": "15550783881",
                            "event": "FLAGGED",
                            "current_limit": "TIER_10K",
                            "old_limit": "TIER_100K",
                            "bench": f"{phase}-{n}",
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def signature(body: bytes) -> str:
    return sign_body(SECRET, body)


@dataclass
class Result:
    label: str
    tool: str
    requests: int
    ok: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_s: float | None = None  # the server process's CPU time during the phase (all threads)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        cpu = ""
        if self.server_cpu_s is not None and self.requests:
            cpu = f"  server CPU {self.server_cpu_s * 1e6 / self.requests:.0f} us/req"
        return (
            f"{self.label:<28} {self.rps:>9.0f} req/s  p50 {self.p50_ms:>7.1f} ms  p99 {self.p99_ms:>7.1f} ms  "
            f"200s {self.ok:>7}/{self.requests:<7} errors {self.errors}  ({self.tool}){cpu}"
        )


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc): per request, it is far less sensitive to
    other load on the machine than requests per second are."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Database:
    """Just enough of a client to reset the schema and count rows, for either database."""

    def __init__(self, url: str | None, workdir: Path) -> None:
        self.url = url or f"sqlite:///{workdir / 'bench.sqlite3'}"
        self.is_sqlite = self.url.startswith("sqlite")

    def reset(self) -> None:
        if self.is_sqlite:
            path = Path(self.url.split("///", 1)[1])
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        else:
            with psycopg.connect(self._pg_url(), autocommit=True) as conn:
                conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
                conn.execute("CREATE SCHEMA public")

    def _pg_url(self) -> str:
        return "postgresql://" + self.url.split("://", 1)[1]

    def query(self, sql: str) -> list[tuple[object, ...]]:
        if self.is_sqlite:
            with contextlib.closing(sqlite3.connect(self.url.split("///", 1)[1], timeout=30)) as conn:
                return list(conn.execute(sql).fetchall())
        with psycopg.connect(self._pg_url()) as conn:
            return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


class Server:
    def __init__(self, target: str, env: dict[str, str], ready_path: str) -> None:
        self.target = target
        self.env = env
        self.ready_path = ready_path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.worker_pids: list[int] = []  # worker processes beside it (bench/pipeline.py), for their CPU

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # The Procfile's web line, on loopback and with a fixed single worker.
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", self.target,
                "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
                "--proxy-headers", "--timeout-graceful-shutdown", "10", "--no-access-log",
                "--log-level", "warning",
            ],
            env=self.env,
            cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.target} exited with {self.proc.returncode}")
            try:
                status = httpx2.get(self.base + self.ready_path, timeout=1).status_code
                if status < 500:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.target} did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def write_bodies(path: Path, phase: str, count: int) -> list[bytes]:
    bodies = [body_for(phase, n) for n in range(count)]
    with path.open("wb") as f:
        for body in bodies:
            f.write(signature(body).encode() + b" " + body + b"\n")
    return bodies


WRK_SCRIPT = """
local sigs, bodies = {}, {}
local n = 0
local nthreads = %(threads)d
local created = 0

function setup(thread)
  thread:set("id", created)
  created = created + 1
end

function init(args)
  for line in io.lines("%(bodies)s") do
    local sp = line:find(" ", 1, true)
    sigs[#sigs + 1] = line:sub(1, sp - 1)
    bodies[#bodies + 1] = line:sub(sp + 1)
  end
  n = id
end

function request()
  local i = (n %% #bodies) + 1
  n = n + nthreads
  return wrk.format("POST", "%(path)s",
    {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = sigs[i]}, bodies[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def run_wrk(
    label: str, url: str, bodies_file: Path, workdir: Path, concurrency: int, duration: int
) -> Result:
    threads = 2
    script = workdir / f"{label.replace(' ', '_')}.lua"
    script.write_text(
        WRK_SCRIPT % {"threads": threads, "bodies": bodies_file, "path": f"/webhooks/whatsapp/{APP_ID}"}
    )
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, micros, p50, p99, bad_status, socket_errors = (int(v) for v in line.split()[1:])
    return Result(
        label, "wrk", requests, requests - bad_status, micros / 1e6, p50 / 1e3, p99 / 1e3, socket_errors
    )


class Connection:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost far less than the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.fresh = True

    async def post(self, path: bytes, body: bytes, sig: bytes) -> int:
        self.fresh = self.writer is None
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(
            b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\nX-Hub-Signature-256: "
            + sig
            + b"\r\n\r\n"
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.writer = None


async def asyncio_load(
    label: str,
    port: int,
    signed: list[tuple[bytes, bytes]],
    concurrency: int,
    duration: float,
    *,
    stop_on_error: bool = False,
    answered: list[bytes] | None = None,
) -> tuple[Result, list[bytes]]:
    """Closed-loop load at ``concurrency`` over (body, signature) pairs; returns the result and the
    bodies answered 200 (appended to ``answered`` as they come, so a caller can watch progress)."""
    path = f"/webhooks/whatsapp/{APP_ID}".encode()
    latencies: list[float] = []
    answered = [] if answered is None else answered
    counts = {"requests": 0, "errors": 0}
    queue = iter(signed)
    deadline = time.monotonic() + duration

    async def worker() -> None:
        conn = Connection(port)
        try:
            for body, sig in queue:
                if time.monotonic() > deadline:
                    return
                start = time.perf_counter()
                try:
                    status = await conn.post(path, body, sig)
                except (OSError, asyncio.IncompleteReadError):
                    counts["errors"] += 1
                    if stop_on_error:
                        return
                    conn.close()
                    continue
                latencies.append(time.perf_counter() - start)
                counts["requests"] += 1
                if status == 200:
                    answered.append(body)
        finally:
            conn.close()

    with no_collector_pauses():
        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return (
        Result(
            label, "asyncio", counts["requests"], len(answered), elapsed, pct(latencies, 50), pct(latencies, 99),
            counts["errors"],
        ),
        answered,
    )  # fmt: skip


@contextlib.contextmanager
def no_collector_pauses() -> Iterator[None]:
    """The load generator's own garbage collection paused it for 20-40 ms at a time (it holds the
    pre-signed bodies and a task per request), which showed as the server's latency: off while it
    measures."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000


async def fixed_rate(port: int, bodies: list[bytes], rate: float, duration: float) -> Result:
    """Open loop: request i is due at i/rate s whatever the answers do; latency counts from when it was
    due, so a stalled server or a busy generator shows in p99 instead of hiding (coordinated omission)."""
    path = f"/webhooks/whatsapp/{APP_ID}".encode()
    total = int(rate * duration)
    signed = [(body, signature(body).encode()) for body in bodies[:total]]
    latencies: list[float] = []
    statuses: list[int] = []
    errors = 0
    idle: list[Connection] = []

    async def one(due: float, body: bytes, sig: bytes) -> None:
        nonlocal errors
        conn = idle.pop() if idle else Connection(port)
        try:
            try:
                status = await conn.post(path, body, sig)
            except (OSError, asyncio.IncompleteReadError):
                if conn.fresh:
                    raise
                # The server closed a keep-alive connection that sat idle: reconnect once, as clients do.
                conn.close()
                conn = Connection(port)
                status = await conn.post(path, body, sig)
        except (OSError, asyncio.IncompleteReadError) as exc:
            errors += 1
            if errors == 1:
                print(f"  first error at the fixed rate: {exc!r}")
            conn.close()
            return
        latencies.append(time.perf_counter() - due)
        statuses.append(status)
        idle.append(conn)

    tasks = []
    with no_collector_pauses():
        started = time.perf_counter()
        for i, (body, sig) in enumerate(signed):
            due = started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due, body, sig)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    for conn in idle:
        conn.close()
    return Result(
        f"receiver at {rate:.0f} req/s", "asyncio, open loop", len(statuses), statuses.count(200), elapsed,
        pct(latencies, 50), pct(latencies, 99), errors,
    )  # fmt: skip


def delivery_counts(db: Database, like: str) -> tuple[int, int]:
    # Bodies are stored as bytes; the phase marker is ASCII inside them.
    if db.is_sqlite:
        sql = f"SELECT count(*), coalesce(sum(duplicate_count), 0) FROM webhook_deliveries WHERE instr(body, CAST('{like}' AS BLOB)) > 0"
    else:
        sql = f"SELECT count(*), coalesce(sum(duplicate_count), 0) FROM webhook_deliveries WHERE position(convert_to('{like}', 'UTF8') in body) > 0"
    [(count, dups)] = db.query(sql)
    return int(str(count)), int(str(dups))


def stored_hashes(db: Database) -> set[str]:
    return {str(row[0]) for row in db.query("SELECT body_sha256 FROM webhook_deliveries")}


async def crash_check(server: Server, db: Database, concurrency: int) -> list[str]:
    lines: list[str] = []
    signed = [(body, signature(body).encode()) for body in (body_for("crash", n) for n in range(100_000))]
    answered: list[bytes] = []
    load = asyncio.create_task(
        asyncio_load("crash", server.port, signed, concurrency, 15, stop_on_error=True, answered=answered)
    )
    while not answered and not load.done():
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # well into the load
    server.kill()
    result, _ = await load
    lines.append(f"killed the server (SIGKILL) after {result.ok} deliveries were answered 200")
    server.start()
    stored = stored_hashes(db)
    missing = [b for b in answered if hashlib.sha256(b).hexdigest() not in stored]
    lines.append(
        f"after restart: {len(answered) - len(missing)}/{len(answered)} deliveries answered 200 are stored"
        + ("  OK" if not missing else f"  LOST {len(missing)}")
    )
    marker = (
        "instr(body, CAST('crash-' AS BLOB)) > 0"
        if db.is_sqlite
        else "position(convert_to('crash-', 'UTF8') in body) > 0"
    )
    pending_sql = f"SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND {marker}"
    [(before,)] = db.query(pending_sql)
    deadline = time.monotonic() + MAX_PHASE_SECONDS
    pending = int(str(before))
    while pending and time.monotonic() < deadline:
        await asyncio.sleep(1)
        [(now,)] = db.query(pending_sql)
        pending = int(str(now))
    if pending == 0:
        lines.append(
            f"processing: all {before} pending deliveries of this phase were processed after the restart"
        )
    elif pending == int(str(before)):
        lines.append(
            f"processing: {pending} deliveries still pending after {MAX_PHASE_SECONDS}s (none processed)"
        )
    else:
        lines.append(
            f"processing: {int(str(before)) - pending} of {before} processed within {MAX_PHASE_SECONDS}s"
        )
    return lines


def run_cli(env: dict[str, str], *args: str, stdin: str = "") -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        text=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"wabawatch {' '.join(args)} failed:\n{done.stderr}")


@contextlib.contextmanager
def servers(db: Database, *, worker: bool) -> Iterator[tuple[Server, Server]]:
    """A fresh database, an app registered through the CLI, the bare endpoint and wabawatch; with
    ``worker`` the worker runs as the Procfile runs it (inside the web process on SQLite,
    ``wabawatch worker`` beside it on PostgreSQL)."""
    db.reset()
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "BASE_URL": "http://127.0.0.1",
        "ENV": "development",
        "WORKER_IN_PROCESS": "true" if worker and db.is_sqlite else "false",
    }
    # The Procfile's release step, then the app, both through the CLI.
    run_cli(env, "db", "upgrade")
    run_cli(env, "app", "add", APP_ID, "--verify-token", "bench-token", stdin=SECRET + "\n")
    app = Server("app.main:app", env, "/healthz")
    bare = Server("bench.ingest:bare_app", env, "/webhooks/whatsapp/1")
    worker_proc = None
    if worker and not db.is_sqlite:
        worker_proc = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, cwd=ROOT)
    try:
        bare.start()
        app.start()
        yield app, bare
    finally:
        app.stop()
        bare.stop()
        if worker_proc is not None:
            worker_proc.send_signal(signal.SIGTERM)
            try:
                worker_proc.wait(15)
            except subprocess.TimeoutExpired:
                worker_proc.kill()


async def throughput(
    label: str, server: Server, phase: str, workdir: Path, args: argparse.Namespace, duration: int
) -> Result:
    assert server.proc is not None
    if shutil.which("wrk") is not None and not args.no_wrk:
        bodies_file = workdir / f"{phase}.txt"
        write_bodies(bodies_file, phase, args.bodies)
        before = cpu_seconds(server.proc.pid)
        result = run_wrk(label, server.base, bodies_file, workdir, args.concurrency, duration)
    else:
        signed = [(b, signature(b).encode()) for b in (body_for(phase, n) for n in range(args.bodies))]
        before = cpu_seconds(server.proc.pid)
        result, _ = await asyncio_load(label, server.port, signed, args.concurrency, duration)
    after = cpu_seconds(server.proc.pid)
    if before is not None and after is not None:
        result.server_cpu_s = after - before
    return result


def check_stored(db: Database, result: Result, phase: str) -> str:
    stored, dups = delivery_counts(db, f"{phase}-")
    ok = "OK" if stored >= result.ok - dups else "MISSING"
    return f"  {result.ok} answered 200, {stored} distinct deliveries stored, {dups} duplicates ({ok})"


async def main_async(args: argparse.Namespace) -> None:
    duration = min(args.duration, MAX_PHASE_SECONDS)
    rate_bodies = [body_for("rate", n) for n in range(int(args.rate * duration) + 1)]
    with tempfile.TemporaryDirectory(prefix="wabawatch-bench-") as tmp:
        workdir = Path(tmp)
        db = Database(args.db, workdir)
        print(f"database: {'SQLite (WAL) ' + db.url if db.is_sqlite else db.url}")
        print(
            f"load: concurrency {args.concurrency}, {duration}s per phase, distinct signed bodies, loopback"
        )
        print("load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        if shutil.which("wrk") is None and not args.no_wrk:
            print("wrk is not installed (apt-get install wrk): the asyncio generator competes for the CPU")
        print("-- intake alone (no worker)")
        with servers(db, worker=False) as (app, bare):
            # Rounds of bare, receiver, ..., bare: load elsewhere on this shared machine (steal time
            # of 10-20% seen) moved single runs by up to 2x; each receiver run is compared with the
            # bare runs on either side of it, and the median of those ratios is the figure.
            bares = [await throughput("bare Starlette endpoint", bare, "bare0", workdir, args, duration)]
            print(bares[0].line())
            ratios: list[float] = []
            for n in range(1, args.rounds + 1):
                recv_r = await throughput(f"receiver (round {n})", app, f"recv{n}", workdir, args, duration)
                print(recv_r.line())
                print(check_stored(db, recv_r, f"recv{n}"))
                bares.append(
                    await throughput("bare Starlette endpoint", bare, f"bare{n}", workdir, args, duration)
                )
                print(bares[-1].line())
                ratios.append(recv_r.rps / ((bares[-2].rps + bares[-1].rps) / 2))
            bare_rps = statistics.mean(b.rps for b in bares)
            print(
                f"receiver / bare throughput: median {statistics.median(ratios):.2f} (target >= 0.5; "
                f"rounds {', '.join(f'{r:.2f}' for r in ratios)})"
            )
            fixed = await fixed_rate(app.port, rate_bodies, args.rate, duration)
            print(fixed.line() + "  (target p99 < 50 ms)")
        worker = "in-process worker" if db.is_sqlite else "`wabawatch worker` process"
        print(f"-- with the {worker}, on a fresh database")
        with servers(db, worker=True) as (app, bare):
            # Not counted: the worker starting up (a separate process on PostgreSQL, importing while
            # the web process answers) and every statement's first compile happen in these seconds.
            warm = [body_for("warm", n) for n in range(int(args.rate * WARMUP_SECONDS) + 1)]
            warm_r = await fixed_rate(app.port, warm, args.rate, WARMUP_SECONDS)
            print(
                f"warm-up, not counted: {WARMUP_SECONDS:.0f}s at {args.rate:.0f} req/s, p99 {warm_r.p99_ms:.1f} ms"
            )
            fixed = await fixed_rate(app.port, rate_bodies, args.rate, duration)
            print(fixed.line() + "  (target p99 < 50 ms)")
            for line in await crash_check(app, db, args.concurrency):
                print(line)
            both_r = await throughput("receiver + worker", app, "both", workdir, args, duration)
            print(both_r.line())
            print(check_stored(db, both_r, "both"))
            print(f"receiver + worker / bare throughput: {both_r.rps / bare_rps:.2f}")
        print("load average after: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="postgresql://… URL of a THROWAWAY database (its schema is dropped)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--duration", type=int, default=10, help=f"seconds per phase (at most {MAX_PHASE_SECONDS})"
    )
    parser.add_argument(
        "--rate", type=float, default=300.0, help="the fixed-rate phase's requests per second"
    )
    parser.add_argument(
        "--bodies", type=int, default=300_000, help="distinct signed bodies per throughput phase"
    )
    parser.add_argument(
        "--no-wrk", action="store_true", help="use the asyncio load generator even if wrk exists"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="receiver throughput runs, each between two bare runs"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
