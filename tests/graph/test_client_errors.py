"""Every Graph failure reaches the caller as a GraphError that says, in words, what to do."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest

from app.graph.client import GraphClient
from app.graph.errors import (
    CallContext,
    GraphLoginError,
    GraphNotFound,
    GraphPermissionError,
    GraphRateLimited,
    GraphTokenError,
    GraphUnavailable,
    translate,
)
from app.lib.timeutil import utcnow
from tests.support.fake_graph import APP_ID, APP_SECRET, OTHER_WABA_ID, VERSION, WABA_ID, FakeGraph


async def test_expired_token_says_reconnect_this_waba(fake_graph: FakeGraph, graph: GraphClient) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("expired_token")
    with pytest.raises(GraphTokenError) as caught:
        await graph.get_waba(WABA_ID, seeded.token.value)
    message = str(caught.value)
    assert f"The access token for WABA {WABA_ID} no longer works (it has expired)" in message
    assert "Reconnect this WABA" in message
    assert (caught.value.code, caught.value.subcode) == (190, 463)
    assert caught.value.fbtrace_id
    assert len(fake_graph.calls()) == 1  # a 4xx is not retried


async def test_unknown_token_says_reconnect_too(fake_graph: FakeGraph, graph: GraphClient) -> None:
    fake_graph.seed()
    with pytest.raises(GraphTokenError, match="Reconnect this WABA"):
        await graph.list_subscribed_apps(WABA_ID, "EAAnot-a-real-token")


async def test_missing_permission_is_named(fake_graph: FakeGraph, graph: GraphClient) -> None:
    fake_graph.seed()
    narrow = fake_graph.state.add_token(APP_ID, scopes=("business_management",), waba_ids=(WABA_ID,))
    with pytest.raises(GraphPermissionError) as caught:
        await graph.subscribe_app(WABA_ID, narrow.value)
    assert caught.value.permission == "whatsapp_business_management"
    assert str(caught.value) == (
        f"Could not subscribe the app to WABA {WABA_ID}'s webhooks: the access token lacks the "
        f"whatsapp_business_management permission for WABA {WABA_ID}. Reconnect this WABA and grant it."
    )


async def test_code_10_names_the_permission_the_call_needs(fake_graph: FakeGraph, graph: GraphClient) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("missing_permission", code=10)
    with pytest.raises(
        GraphPermissionError, match="lacks the whatsapp_business_management permission"
    ) as caught:
        await graph.unsubscribe_app(WABA_ID, seeded.token.value)
    assert caught.value.code == 10


async def test_waba_out_of_reach_is_not_found(fake_graph: FakeGraph, graph: GraphClient) -> None:
    seeded = fake_graph.seed()
    with pytest.raises(
        GraphNotFound, match=f"WABA {OTHER_WABA_ID} was not found, or the access token has no access"
    ):
        await graph.get_waba(OTHER_WABA_ID, seeded.token.value)


@pytest.mark.parametrize("code", [80007, 80008])
async def test_rate_limit_says_when_to_retry_and_holds_back(
    fake_graph: FakeGraph, graph: GraphClient, code: int
) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("rate_limited", code=code, regain_minutes=12)
    before = utcnow()
    with pytest.raises(GraphRateLimited) as caught:
        await graph.subscribe_app(WABA_ID, seeded.token.value)
    error = caught.value
    assert error.code == code
    assert error.retry_at is not None
    assert timedelta(minutes=11) < error.retry_at - before <= timedelta(minutes=12, seconds=5)
    assert f"the call limit for WABA {WABA_ID} is reached. Try again in about 12 minutes (after" in str(error)
    # Meta said to wait: the next call for that WABA is not sent at all.
    with pytest.raises(GraphRateLimited, match="holding back Graph calls for WABA"):
        await graph.get_waba(WABA_ID, seeded.token.value)
    assert len(fake_graph.calls()) == 1


async def test_app_rate_limit_holds_back_every_call_of_the_app(
    fake_graph: FakeGraph, graph: GraphClient
) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("app_rate_limited")
    with pytest.raises(
        GraphRateLimited, match=r"the app's hourly call limit is reached\. Try again in about 5 minutes"
    ):
        await graph.get_waba(WABA_ID, seeded.token.value)
    with pytest.raises(GraphRateLimited, match="holding back Graph calls for the app, which has used 100%"):
        await graph.debug_token(seeded.token.value, app_id="", app_secret=APP_SECRET)
    assert len(fake_graph.calls()) == 1


async def test_server_errors_are_retried_then_succeed(fake_graph: FakeGraph, graph: GraphClient) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("server_error", times=2)
    waba = await graph.get_waba(WABA_ID, seeded.token.value)
    assert waba.id == WABA_ID
    assert [c.status for c in fake_graph.calls()] == [500, 500, 200]


async def test_lasting_server_errors_give_up_after_the_retries(
    fake_graph: FakeGraph, graph: GraphClient
) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("server_error", times=None)
    with pytest.raises(GraphUnavailable) as caught:
        await graph.list_subscribed_apps(WABA_ID, seeded.token.value)
    assert "Meta's Graph API failed (HTTP 500, 3 attempts). Try again in a few minutes." in str(caught.value)
    assert len(fake_graph.calls()) == 3


async def test_a_slow_answer_is_retried(fake_graph: FakeGraph) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("slow", delay=0.6)
    async with GraphClient(base_url=fake_graph.url, version=VERSION, timeout=0.3, backoff=0.01) as graph:
        assert (await graph.get_waba(WABA_ID, seeded.token.value)).id == WABA_ID


async def test_lasting_slowness_gives_up_in_words(fake_graph: FakeGraph) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("slow", delay=0.5, times=None)
    async with GraphClient(
        base_url=fake_graph.url, version=VERSION, timeout=0.2, backoff=0.01, retries=1
    ) as graph:
        started = time.monotonic()
        with pytest.raises(GraphUnavailable, match=r"did not answer within 0.2 seconds \(2 attempts\)"):
            await graph.get_waba(WABA_ID, seeded.token.value)
        assert time.monotonic() - started < 1.5


async def test_unreachable_graph_is_not_retried() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with GraphClient(base_url=f"http://127.0.0.1:{port}", version=VERSION, backoff=0.01) as graph:
        with pytest.raises(GraphUnavailable, match="could not be reached"):
            await graph.get_waba(WABA_ID, "EAAx")


async def test_an_html_gateway_error_is_retried_then_explained(
    fake_graph: FakeGraph, graph: GraphClient
) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("bad_gateway", times=None)
    with pytest.raises(GraphUnavailable, match=r"HTTP 502, 3 attempts"):
        await graph.get_waba(WABA_ID, seeded.token.value)
    fake_graph.state.clear_faults()
    fake_graph.state.fail("bad_gateway")
    assert (await graph.get_waba(WABA_ID, seeded.token.value)).id == WABA_ID


async def test_subscribe_is_sent_again_whole_after_a_server_error(
    fake_graph: FakeGraph, graph: GraphClient
) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("server_error", method="POST")
    await graph.subscribe_app(
        WABA_ID, seeded.token.value, override_callback_uri="https://hooks.example.com/w", verify_token="vt"
    )
    assert [c.status for c in fake_graph.calls()] == [500, 200]
    subscription = seeded.waba.subscriptions[APP_ID]
    assert (subscription.override_callback_uri, subscription.verify_token) == (
        "https://hooks.example.com/w",
        "vt",
    )


@pytest.mark.parametrize(
    ("code", "message", "what"),
    [
        (101, "Error validating application. Invalid application ID.", "app id"),
        (1, "Error validating client secret.", "app secret"),
    ],
)
def test_a_refused_app_id_or_secret_says_which_in_words(code: int, message: str, what: str) -> None:
    error = translate(
        {"error": {"code": code, "message": message, "type": "OAuthException"}},
        status=400,
        context=CallContext("read which business owns app 1"),
        retry_at=None,
        now=utcnow(),
    )
    assert isinstance(error, GraphLoginError)
    assert str(error) == f"Meta did not accept the {what} ({message}). Check the app's settings."
