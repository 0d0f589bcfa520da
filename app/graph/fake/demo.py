"""The demo's Meta side in the fake Graph API: the demo app, its WABAs with numbers in varied states,
a partner app subscribed to one of them, and one system-user token that may manage them all.

The token is fixed and not a secret: it exists only inside a fake on a demo machine.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.graph.fake.state import FakeGraphState
from app.graph.fake.world import FakePhone, FakeToken

# The demo app's secret is not a secret either: a demo server runs with development settings,
# which production refuses.
DEMO_APP_ID = "1000000000000001"
DEMO_APP_SECRET = "demo-app-secret-not-for-production"
DEMO_WABAS = (
    ("102290129340398", "Lucky Shrub (US)"),
    ("224466880011223", "Café Ñandú (BR)"),
    ("331199775533117", "Müller & Söhne (DE)"),
)
DEMO_TOKEN = "EAAdemo-system-user-token-not-a-secret"
PARTNER_APP = ("1000000000000077", "partner-secret-not-a-secret", "Partner Inbox")
PHONE_STATES = (
    {"quality_rating": "GREEN", "messaging_limit_tier": "TIER_10K", "name_status": "APPROVED"},
    {"quality_rating": "YELLOW", "messaging_limit_tier": "TIER_1K", "name_status": "PENDING_REVIEW"},
)


def seed_demo_world(
    state: FakeGraphState, *, app_id: str, app_secret: str, wabas: Iterable[tuple[str, str]]
) -> FakeToken:
    state.add_app(app_id, app_secret, "wabawatch demo app")
    state.add_app(*PARTNER_APP)
    waba_ids: list[str] = []
    for n, (waba_id, name) in enumerate(wabas):
        phones = [
            FakePhone(
                id=f"1{waba_id[-6:]}{i:08d}",
                display_phone_number=f"+1 555-01{n:1d}-{1000 + i:04d}",
                verified_name=name.split(" (")[0],
                **PHONE_STATES[i % len(PHONE_STATES)],
            )
            for i in range(2)
        ]
        state.add_waba(waba_id, name, phones=phones)
        waba_ids.append(waba_id)
    if waba_ids:
        state.subscribe(waba_ids[0], PARTNER_APP[0])
    return state.add_token(app_id, value=DEMO_TOKEN, waba_ids=tuple(waba_ids))
