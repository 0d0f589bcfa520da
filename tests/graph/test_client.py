"""GraphClient against the fake Graph API over real HTTP: every call, and what it makes of the answers."""

from __future__ import annotations

import logging
import time

import pytest

from app.graph.client import GraphClient, oauth_dialog_url
from app.graph.errors import GraphRequestError
from app.graph.fake.world import FakePhone
from tests.support.fake_graph import (
    APP_ID,
    APP_SECRET,
    OTHER_APP_ID,
    OTHER_WABA_ID,
    VERSION,
    WABA_ID,
    FakeGraph,
)


async def test_get_waba_reads_its_state(fake_graph: FakeGraph, graph: GraphClient) -> None:
    seeded = fake_graph.seed()
    seeded.waba.account_review_status = "PENDING"
    seeded.waba.can_send_message = "LIMITED"
    waba = await graph.get_waba(WABA_ID, seeded.token.value)
    assert waba.id == WABA_ID
    assert waba.name == "Lucky Shrub (US)"
    assert waba.account_review_status == "PENDING"
    assert waba.business_verification_status == "verified"
    assert waba.can_send_message == "LIMITED"
    assert (waba.currency, waba.timezone_id) == ("USD", "1")
    assert waba.owner_business_name == "Demo Business"


async def test_phone_numbers_are_read_across_pages(fake_graph: FakeGraph, graph: GraphClient) -> None:
    seeded = fake_graph.seed(phones=130)
    seeded.waba.phones[129] = FakePhone(
        id="999",
        display_phone_number="+55 11 91234-5678",
        verified_name="Café Ñandú",
        name_status="PENDING_REVIEW",
        quality_rating="YELLOW",
        messaging_limit_tier="TIER_10K",
        code_verification_status="NOT_VERIFIED",
        throughput_level="HIGH",
    )
    phones = await graph.list_phone_numbers(WABA_ID, seeded.token.value)
    assert len(phones) == 130
    assert len({p.id for p in phones}) == 130
    last = phones[-1]
    assert (last.display_phone_number, last.verified_name, last.name_status) == (
        "+55 11 91234-5678",
        "Café Ñandú",
        "PENDING_REVIEW",
    )
    assert (last.quality_rating, last.messaging_limit_tier, last.code_verification_status) == (
        "YELLOW",
        "TIER_10K",
        "NOT_VERIFIED",
    )
    assert last.throughput_level == "HIGH"
    assert [c.path for c in fake_graph.calls()] == [f"/{VERSION}/{WABA_ID}/phone_numbers"] * 2


async def test_versions_before_24_ask_for_the_old_limit_field(fake_graph: FakeGraph) -> None:
    seeded = fake_graph.seed(phones=1)
    async with GraphClient(base_url=fake_graph.url, version="v23.0") as old:
        phones = await old.list_phone_numbers(WABA_ID, seeded.token.value)
    assert phones[0].messaging_limit_tier == "TIER_1K"
    assert "messaging_limit_tier" in phones[0].raw
    assert "whatsapp_business_manager_messaging_limit" not in phones[0].raw


async def test_subscription_round_trip_with_an_override(fake_graph: FakeGraph, graph: GraphClient) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.subscribe(WABA_ID, OTHER_APP_ID)
    token = seeded.token.value
    await graph.subscribe_app(
        WABA_ID, token, override_callback_uri="https://hooks.example.com/waba", verify_token="verify-me"
    )
    apps = {a.app_id: a for a in await graph.list_subscribed_apps(WABA_ID, token)}
    assert set(apps) == {APP_ID, OTHER_APP_ID}
    assert apps[APP_ID].override_callback_uri == "https://hooks.example.com/waba"
    assert apps[APP_ID].name == "wabawatch test app"
    assert apps[OTHER_APP_ID].override_callback_uri is None
    assert fake_graph.state.wabas[WABA_ID].subscriptions[APP_ID].verify_token == "verify-me"
    await graph.unsubscribe_app(WABA_ID, token)
    assert [a.app_id for a in await graph.list_subscribed_apps(WABA_ID, token)] == [OTHER_APP_ID]


async def test_override_without_verify_token_is_refused_before_sending(
    fake_graph: FakeGraph, graph: GraphClient
) -> None:
    seeded = fake_graph.seed()
    with pytest.raises(GraphRequestError, match="needs a verify token"):
        await graph.subscribe_app(
            WABA_ID, seeded.token.value, override_callback_uri="https://hooks.example.com/x"
        )
    assert fake_graph.calls() == []


async def test_debug_token_lists_the_granted_wabas(fake_graph: FakeGraph, graph: GraphClient) -> None:
    fake_graph.seed()
    token = fake_graph.state.add_token(APP_ID, waba_ids=(OTHER_WABA_ID, WABA_ID))
    info = await graph.debug_token(token.value, app_id=APP_ID, app_secret=APP_SECRET)
    assert info.is_valid
    assert info.app_id == APP_ID
    assert info.waba_ids == (WABA_ID, OTHER_WABA_ID)  # newest grant first
    assert info.expires_at is None
    assert info.problem_with(WABA_ID, app_id=APP_ID) is None
    problem = info.problem_with("777", app_id=APP_ID)
    assert problem is not None
    assert "no access to WABA 777" in problem
    assert "belongs to app" in str(info.problem_with(WABA_ID, app_id=OTHER_APP_ID))


async def test_debug_token_explains_what_a_token_lacks(fake_graph: FakeGraph, graph: GraphClient) -> None:
    fake_graph.seed()
    narrow = fake_graph.state.add_token(APP_ID, scopes=("business_management",))
    info = await graph.debug_token(narrow.value, app_id=APP_ID, app_secret=APP_SECRET)
    assert "lacks the whatsapp_business_management permission" in str(info.problem_with(WABA_ID))
    expired = fake_graph.state.add_token(APP_ID, waba_ids=(WABA_ID,), expires_at=int(time.time()) - 1)
    info = await graph.debug_token(expired.value, app_id=APP_ID, app_secret=APP_SECRET)
    assert not info.is_valid
    assert info.error_subcode == 463
    assert "not valid" in str(info.problem_with(WABA_ID))


def test_dialog_is_on_www_facebook_com_for_the_real_graph() -> None:
    assert (
        oauth_dialog_url("https://graph.facebook.com", "v24.0")
        == "https://www.facebook.com/v24.0/dialog/oauth"
    )
    assert oauth_dialog_url("http://127.0.0.1:9/", "v24.0") == "http://127.0.0.1:9/v24.0/dialog/oauth"


async def test_usage_headers_are_kept_per_business(fake_graph: FakeGraph, graph: GraphClient) -> None:
    seeded = fake_graph.seed()
    seeded.waba.hourly_limit = 200
    for _ in range(3):
        await graph.list_subscribed_apps(WABA_ID, seeded.token.value)
    status = graph.usage.latest(WABA_ID)
    assert status is not None
    assert status.peak == 2  # 3 of 200 calls, rounded up to whole percent
    assert status.readings[0].type == "whatsapp_business_management"
    assert status.held_until is None
    assert graph.usage.app_usage() is not None
    assert graph.last_usage is not None
    assert WABA_ID in graph.last_usage.businesses


async def test_no_token_or_secret_reaches_the_logs(
    fake_graph: FakeGraph, graph: GraphClient, caplog: pytest.LogCaptureFixture
) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("expired_token", path="phone_numbers")
    caplog.set_level(logging.DEBUG)
    token = seeded.token.value
    await graph.get_waba(WABA_ID, token)
    await graph.subscribe_app(
        WABA_ID, token, override_callback_uri="https://h.example.com/x", verify_token="vt-secret"
    )
    await graph.debug_token(token, app_id=APP_ID, app_secret=APP_SECRET)
    with pytest.raises(Exception, match="Reconnect") as failed:
        await graph.list_phone_numbers(WABA_ID, token)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "graph GET /debug_token -> 200" in logged  # the calls were logged
    for secret in (token, APP_SECRET, "vt-secret"):
        assert secret not in logged
        assert secret not in str(failed.value)
