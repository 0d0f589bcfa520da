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
    lag: float | None = None
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
            lag = await _pending_lag(request)
            checks["worker"] = _lag_check(request, lag)
    except Exception as exc:  # the answer must say "not ready", whatever broke
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    answer: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
    if lag is not None:
        # The same figure as /metrics' wabawatch_processing_lag_seconds (what bench/pipeline.py samples).
        answer["pending_lag_seconds"] = round(lag, 3)
    return JSONResponse(answer, status_code=200 if ready else 503)


async def _pending_lag(request: Request) -> float:
    """How long the oldest delivery or change still waiting for the worker has waited (0: none)."""
    async with services(request).db.read() as session:
        oldest = await queries.oldest_unprocessed(session)
    return 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())


def _lag_check(request: Request, lag: float) -> str:
    limit = services(request).settings.ready_max_lag_seconds
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
