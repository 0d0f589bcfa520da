"""The set-up checklist's "Send a test event": a sample notification for one of the org's WABAs,
signed with its app's secret as Meta signs (X-Hub-Signature-256 over the raw bytes) and posted over
HTTP to the app's callback URL on this server, so it takes the same way in as Meta's own.

Its field is wabawatch's own (``app.events.parsing.selftest``): the timeline marks it as a test, it
changes no state and no alert rule matches it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import httpx2

from app.events.parsing.selftest import TEST_FIELD
from app.simulator.base import meta_json_bytes
from app.simulator.send import Unreachable, post_one, reason_for

TIMEOUT_SECONDS = 10.0


def selftest_body(*, waba_id: str, sent_by: str, now: datetime) -> bytes:
    """A fresh body each time (its nonce), so deduplication never folds two tests into one."""
    value = {"sent_by": sent_by, "sent_at": now.isoformat(), "nonce": secrets.token_hex(8)}
    entry = {"id": waba_id, "time": int(now.timestamp()), "changes": [{"field": TEST_FIELD, "value": value}]}
    return meta_json_bytes({"object": "whatsapp_business_account", "entry": [entry]})


@dataclass(frozen=True)
class Posted:
    url: str
    ok: bool
    message: str  # in words
    milliseconds: float | None


async def post_selftest(*, url: str, secret: str, body: bytes) -> Posted:
    """Posts the signed body to ``url`` and says how the receiver answered."""
    async with httpx2.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        try:
            status, ms = await post_one(client, url, secret, body)
        except Unreachable as exc:
            return Posted(url, False, f"The test event could not be sent: {exc}", None)
    if status == 200:
        return Posted(url, True, f"Posted to the callback URL: stored in {ms:.0f} ms.", ms)
    why = reason_for(status) if isinstance(status, int) else status
    return Posted(url, False, f"The callback URL did not take the test event: {why}.", ms)
