"""The figures behind /metrics, in Prometheus' text exposition format.

Totals are read from the database (deliveries, rejection counters, events), so every web process
answers the same numbers and a restart resets nothing. Open SSE streams are this process's own.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request

from app.alerts import queries as alerts_queries
from app.events import queries as events_queries
from app.lib.timeutil import utcnow
from app.live.hub import hub_for
from app.ops import queries
from app.web.services import services


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(name: str, kind: str, doc: str, samples: Iterable[tuple[dict[str, str], float]]) -> list[str]:
    lines = [f"# HELP {name} {doc}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{text}}} {value:g}" if text else f"{name} {value:g}")
    return lines


async def render(request: Request) -> str:
    svc = services(request)
    async with svc.db.read() as session:
        accepted = await queries.deliveries_accepted(session)
        rejected = await queries.deliveries_rejected(session)
        oldest = await queries.oldest_unprocessed(session)
        pending_deliveries, pending_changes = await queries.pending_counts(session)
        events = await events_queries.field_counts(session)
        alerts = await alerts_queries.delivery_status_counts(session)
    lag = 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())
    lines: list[str] = []
    lines += _family(
        "wabawatch_webhook_deliveries_accepted_total",
        "counter",
        "Signed deliveries stored (duplicates included), by app and processing status.",
        (({"app_id": a, "status": s}, n) for a, s, n in accepted),
    )
    lines += _family(
        "wabawatch_webhook_deliveries_rejected_total",
        "counter",
        "Deliveries refused before storing, by reason.",
        (({"reason": r}, n) for r, n in rejected),
    )
    lines += _family(
        "wabawatch_processing_lag_seconds",
        "gauge",
        "Age of the oldest delivery or change waiting for the worker (0 when none waits).",
        [({}, lag)],
    )
    lines += _family(
        "wabawatch_processing_pending",
        "gauge",
        "Deliveries and changes waiting for the worker.",
        [({"kind": "delivery"}, pending_deliveries), ({"kind": "change"}, pending_changes)],
    )
    lines += _family(
        "wabawatch_events",
        "gauge",
        "Events stored now (retention purges messages events), by webhook field.",
        (({"field": f}, n) for f, n in events),
    )
    lines += _family(
        "wabawatch_alert_deliveries",
        "gauge",
        "Alert deliveries in the outbox, by status.",
        (({"status": s}, n) for s, n in alerts),
    )
    streams = hub_for(svc.db).subscriber_count()
    lines += _family(
        "wabawatch_sse_streams_open", "gauge", "Event streams open in this process.", [({}, streams)]
    )
    return "\n".join(lines) + "\n"
