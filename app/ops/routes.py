"""Liveness, readiness and metrics for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

import hmac

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.db.migrate import current_revision, head_revision
from app.lib.timeutil import utcnow
from app.ops import metrics, queries
from app.web.services import services


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    svc = services(request)
    checks: dict[str, str] = {}
    try:
        async with svc.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
        at = await current_revision(svc.db.engine)
        head = request.app.state.schema_head
        checks["schema"] = (
            "ok" if at == head else f"at {at or 'nothing'}, head is {head}: run `wabawatch db upgrade`"
        )
        if checks["schema"] == "ok":
            checks["worker"] = await _worker_lag(request)
    except Exception as exc:  # the answer must say "not ready", whatever broke
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


async def _worker_lag(request: Request) -> str:
    svc = services(request)
    async with svc.db.read() as session:
        oldest = await queries.oldest_unprocessed(session)
    if oldest is None:
        return "ok"
    lag = (utcnow() - oldest).total_seconds()
    limit = svc.settings.ready_max_lag_seconds
    if lag <= limit:
        return "ok"
    return f"the oldest unprocessed webhook is {int(lag)} s old (limit {limit} s): is a worker running?"


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format. 404 while METRICS_TOKEN is unset; 401 without the right bearer token."""
    token = services(request).settings.metrics_token
    if token is None:
        return PlainTextResponse("Not Found", status_code=404)
    given = request.headers.get("authorization", "")
    expected = "Bearer " + token.get_secret_value()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return PlainTextResponse("Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"})
    body = await metrics.render(request)
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")


routes = [
    Route("/healthz", healthz, name="ops:healthz"),
    Route("/readyz", readyz, name="ops:readyz"),
    Route("/metrics", metrics_endpoint, name="ops:metrics"),
]

__all__ = ["head_revision", "routes"]
