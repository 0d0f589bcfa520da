"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.db.migrate import current_revision, head_revision
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
    except Exception as exc:  # the answer must say "not ready", whatever broke
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


routes = [
    Route("/healthz", healthz, name="ops:healthz"),
    Route("/readyz", readyz, name="ops:readyz"),
]

__all__ = ["head_revision", "routes"]
