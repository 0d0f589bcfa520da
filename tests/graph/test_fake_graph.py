"""The fake Graph API answers as SPEC.md says Meta does, keeps state, and fails when told to.

Driven with plain HTTP, as the real client and a demo in another process would.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from tests.support.fake_graph import (
    APP_ID,
    APP_SECRET,
    OTHER_APP_ID,
    OTHER_WABA_ID,
    SSL,
    VERSION,
    WABA_ID,
    FakeGraph,
)


@pytest.fixture
async def http(fake_graph: FakeGraph) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=f"{fake_graph.url}/{VERSION}", timeout=10, verify=SSL) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_of(response: httpx2.Response) -> dict[str, object]:
    error: dict[str, object] = response.json()["error"]
    assert error["fbtrace_id"]
    return error


async def test_waba_answers_asked_fields_with_usage_headers(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    seeded = fake_graph.seed()
    fields = "name,account_review_status,business_verification_status,health_status,currency,timezone_id"
    response = await http.get(f"/{WABA_ID}", params={"fields": fields}, headers=auth(seeded.token.value))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == WABA_ID
    assert body["name"] == "Lucky Shrub (US)"
    assert body["account_review_status"] == "APPROVED"
    assert body["business_verification_status"] == "verified"
    assert body["health_status"]["can_send_message"] == "AVAILABLE"
    buc = json.loads(response.headers["X-Business-Use-Case-Usage"])
    # A WABA with a registered number may make 5000 calls an hour: one call is 1% (rounded up).
    assert buc == {
        WABA_ID: [
            {
                "type": "whatsapp_business_management",
                "call_count": 1,
                "total_cputime": 0,
                "total_time": 0,
                "estimated_time_to_regain_access": 0,
            }
        ]
    }
    assert set(json.loads(response.headers["X-App-Usage"])) == {"call_count", "total_cputime", "total_time"}


async def test_unknown_field_is_refused_like_graph(fake_graph: FakeGraph, http: httpx2.AsyncClient) -> None:
    seeded = fake_graph.seed()
    response = await http.get(
        f"/{WABA_ID}", params={"fields": "name,colour"}, headers=auth(seeded.token.value)
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == 100
    assert "nonexisting field (colour)" in str(error_of(response)["message"])


async def test_phone_numbers_come_in_pages_with_cursors(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    seeded = fake_graph.seed(phones=3)
    first = (
        await http.get(f"/{WABA_ID}/phone_numbers", params={"limit": 2}, headers=auth(seeded.token.value))
    ).json()
    assert [p["display_phone_number"] for p in first["data"]] == ["+1 631-555-1000", "+1 631-555-1001"]
    assert set(first["data"][0]) == {"id", "verified_name", "display_phone_number", "quality_rating"}
    after = first["paging"]["cursors"]["after"]
    second = (
        await http.get(
            f"/{WABA_ID}/phone_numbers", params={"limit": 2, "after": after}, headers=auth(seeded.token.value)
        )
    ).json()
    assert [p["display_phone_number"] for p in second["data"]] == ["+1 631-555-1002"]
    assert "next" not in second["paging"]
    assert "next" in first["paging"]


async def test_subscriptions_are_kept_per_waba_and_app(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.subscribe(WABA_ID, OTHER_APP_ID)
    headers = auth(seeded.token.value)
    override = {"override_callback_uri": "https://hooks.example.com/waba", "verify_token": "vt-1"}
    assert (await http.post(f"/{WABA_ID}/subscribed_apps", json=override, headers=headers)).json() == {
        "success": True
    }
    listed = (await http.get(f"/{WABA_ID}/subscribed_apps", headers=headers)).json()["data"]
    by_id = {item["whatsapp_business_api_data"]["id"]: item for item in listed}
    assert set(by_id) == {APP_ID, OTHER_APP_ID}
    assert by_id[APP_ID]["override_callback_uri"] == "https://hooks.example.com/waba"
    assert by_id[OTHER_APP_ID]["whatsapp_business_api_data"]["name"] == "Partner Inbox"
    # Subscribing again without a body removes the override.
    await http.post(f"/{WABA_ID}/subscribed_apps", headers=headers)
    listed = (await http.get(f"/{WABA_ID}/subscribed_apps", headers=headers)).json()["data"]
    assert all("override_callback_uri" not in item for item in listed)
    assert (await http.delete(f"/{WABA_ID}/subscribed_apps", headers=headers)).json() == {"success": True}
    listed = (await http.get(f"/{WABA_ID}/subscribed_apps", headers=headers)).json()["data"]
    assert [item["whatsapp_business_api_data"]["id"] for item in listed] == [OTHER_APP_ID]


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({"override_callback_uri": "https://hooks.example.com/x"}, "verify_token"),
        ({"verify_token": "x"}, "override_callback_uri"),
    ],
)
async def test_override_needs_both_values(
    fake_graph: FakeGraph, http: httpx2.AsyncClient, body: dict[str, str], missing: str
) -> None:
    seeded = fake_graph.seed()
    response = await http.post(f"/{WABA_ID}/subscribed_apps", json=body, headers=auth(seeded.token.value))
    assert error_of(response)["code"] == 100
    assert missing in str(error_of(response)["message"])
    assert fake_graph.state.wabas[WABA_ID].subscriptions == {}


async def test_token_without_the_scope_gets_code_200(fake_graph: FakeGraph, http: httpx2.AsyncClient) -> None:
    fake_graph.seed()
    token = fake_graph.state.add_token(APP_ID, scopes=("business_management",), waba_ids=(WABA_ID,))
    response = await http.post(f"/{WABA_ID}/subscribed_apps", headers=auth(token.value))
    assert response.status_code == 403
    assert error_of(response)["code"] == 200
    assert "whatsapp_business_management" in str(error_of(response)["message"])


async def test_token_without_access_to_the_waba_cannot_see_it(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    seeded = fake_graph.seed()
    response = await http.get(f"/{OTHER_WABA_ID}", headers=auth(seeded.token.value))
    error = error_of(response)
    assert (error["code"], error["error_subcode"]) == (100, 33)
    assert OTHER_WABA_ID in str(error["message"])


async def test_unknown_and_expired_tokens_get_code_190(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    fake_graph.seed()
    unknown = await http.get(f"/{WABA_ID}", headers=auth("EAAnot-a-token"))
    assert error_of(unknown)["code"] == 190
    expired = fake_graph.state.add_token(APP_ID, waba_ids=(WABA_ID,), expires_at=int(time.time()) - 60)
    response = await http.get(f"/{WABA_ID}", headers=auth(expired.value))
    assert (error_of(response)["code"], error_of(response)["error_subcode"]) == (190, 463)
    missing = await http.get(f"/{WABA_ID}")
    assert error_of(missing)["code"] == 2500


async def test_waba_is_throttled_when_its_hourly_quota_is_used(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    seeded = fake_graph.seed()
    seeded.waba.hourly_limit = 4
    counts = []
    for _ in range(4):
        response = await http.get(f"/{WABA_ID}/subscribed_apps", headers=auth(seeded.token.value))
        assert response.status_code == 200
        counts.append(json.loads(response.headers["X-Business-Use-Case-Usage"])[WABA_ID][0]["call_count"])
    assert counts == [25, 50, 75, 100]
    refused = await http.get(f"/{WABA_ID}/subscribed_apps", headers=auth(seeded.token.value))
    assert error_of(refused)["code"] == 80007
    usage = json.loads(refused.headers["X-Business-Use-Case-Usage"])[WABA_ID][0]
    assert usage["call_count"] == 100
    assert usage["estimated_time_to_regain_access"] == 60


async def test_faults_are_set_through_the_control_endpoint(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    seeded = fake_graph.seed()
    control = httpx2.AsyncClient(base_url=fake_graph.url, verify=SSL)
    async with control:
        assert (await control.post("/_fake/faults", json={"kind": "teapot"})).status_code == 400
        fault = {"kind": "rate_limited", "code": 80008, "regain_minutes": 7, "path": "subscribed_apps"}
        assert (await control.post("/_fake/faults", json=fault)).status_code == 201
        assert (
            await control.post("/_fake/faults", json={"kind": "expired_token", "method": "GET"})
        ).status_code == 201
        limited = await http.post(f"/{WABA_ID}/subscribed_apps", headers=auth(seeded.token.value))
        assert error_of(limited)["code"] == 80008
        usage = json.loads(limited.headers["X-Business-Use-Case-Usage"])[WABA_ID][0]
        assert (usage["call_count"], usage["estimated_time_to_regain_access"]) == (100, 7)
        expired = await http.get(f"/{WABA_ID}", headers=auth(seeded.token.value))
        assert error_of(expired)["code"] == 190
        # Each fault was used once; the next calls succeed.
        assert (await http.get(f"/{WABA_ID}", headers=auth(seeded.token.value))).status_code == 200
        calls = (await control.get("/_fake/calls")).json()["data"]
        assert [c["status"] for c in calls] == [400, 400, 200]
        assert (
            await control.post("/_fake/faults", json={"kind": "server_error", "times": None})
        ).status_code == 201
        assert (await http.get(f"/{WABA_ID}", headers=auth(seeded.token.value))).status_code == 500
        assert (await http.get(f"/{WABA_ID}", headers=auth(seeded.token.value))).status_code == 500
        assert (await control.delete("/_fake/faults")).status_code == 204
        assert (await http.get(f"/{WABA_ID}", headers=auth(seeded.token.value))).status_code == 200


async def test_world_can_be_built_through_the_control_endpoints(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    async with httpx2.AsyncClient(base_url=fake_graph.url, verify=SSL) as control:
        await control.post("/_fake/apps", json={"id": APP_ID, "secret": APP_SECRET})
        phone = {"id": "1", "display_phone_number": "+49 30 1234567", "verified_name": "Müller"}
        created = await control.post(
            "/_fake/wabas", json={"id": "555", "name": "Müller & Söhne", "phones": [phone]}
        )
        assert created.status_code == 201
        token = (await control.post("/_fake/tokens", json={"app_id": APP_ID, "waba_ids": ["555"]})).json()
    phones = await http.get("/555/phone_numbers", headers=auth(token["access_token"]))
    assert phones.json()["data"][0]["verified_name"] == "Müller"


async def test_slow_fault_delays_the_answer(fake_graph: FakeGraph, http: httpx2.AsyncClient) -> None:
    seeded = fake_graph.seed()
    fake_graph.state.fail("slow", delay=0.3)
    started = time.monotonic()
    response = await http.get(f"/{WABA_ID}", headers=auth(seeded.token.value))
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


async def test_login_dialog_grants_wabas_to_an_exchanged_token(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    fake_graph.seed()
    redirect = "https://dash.example.com/connect/callback"
    query = {
        "client_id": APP_ID,
        "redirect_uri": redirect,
        "state": "st<1>",
        "config_id": "cfg",
        "response_type": "code",
    }
    page = await http.get("/dialog/oauth", params=query)
    assert page.status_code == 200
    assert "st&lt;1&gt;" in page.text
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    form = {
        **{k: v.replace("&lt;", "<").replace("&gt;", ">") for k, v in hidden.items()},
        "decision": "allow",
    }
    decided = await http.post("/dialog/oauth", data={**form, "waba": OTHER_WABA_ID})
    assert decided.status_code == 302
    location = urlsplit(decided.headers["location"])
    back = parse_qs(location.query)
    assert back["state"] == ["st<1>"]
    exchange = {
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "redirect_uri": redirect,
        "code": back["code"][0],
    }
    token = (await http.get("/oauth/access_token", params=exchange)).json()
    assert token["token_type"] == "bearer"
    reused = await http.post("/oauth/access_token", data=exchange)
    assert (error_of(reused)["code"], error_of(reused)["error_subcode"]) == (100, 36009)
    inspected = await http.get(
        "/debug_token", params={"input_token": token["access_token"]}, headers=auth(f"{APP_ID}|{APP_SECRET}")
    )
    data = inspected.json()["data"]
    assert data["is_valid"] is True
    assert data["app_id"] == APP_ID
    waba_scope = next(s for s in data["granular_scopes"] if s["scope"] == "whatsapp_business_management")
    assert waba_scope["target_ids"] == [OTHER_WABA_ID]
    subscribed = await http.post(f"/{OTHER_WABA_ID}/subscribed_apps", headers=auth(token["access_token"]))
    assert subscribed.json() == {"success": True}


async def test_dialog_cancel_redirects_with_access_denied(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    fake_graph.seed()
    form = {
        "client_id": APP_ID,
        "redirect_uri": "https://dash.example.com/cb",
        "state": "s",
        "decision": "deny",
    }
    decided = await http.post("/dialog/oauth", data=form)
    back = parse_qs(urlsplit(decided.headers["location"]).query)
    assert back["error"] == ["access_denied"]
    assert back["state"] == ["s"]
    assert "code" not in back


@pytest.mark.parametrize(
    ("change", "code", "subcode"),
    [
        ({"client_secret": "wrong"}, 1, None),
        ({"redirect_uri": "https://elsewhere.example.com/cb"}, 100, 36008),
        ({"code": "AQnot-a-code"}, 100, None),
        ({"client_id": "999"}, 101, None),
    ],
)
async def test_code_exchange_refusals(
    fake_graph: FakeGraph, http: httpx2.AsyncClient, change: dict[str, str], code: int, subcode: int | None
) -> None:
    fake_graph.seed()
    form = {"client_id": APP_ID, "redirect_uri": "https://dash.example.com/cb", "decision": "allow"}
    decided = await http.post("/dialog/oauth", data=form)
    granted = parse_qs(urlsplit(decided.headers["location"]).query)["code"][0]
    exchange = {
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "redirect_uri": form["redirect_uri"],
        "code": granted,
    }
    error = error_of(await http.get("/oauth/access_token", params={**exchange, **change}))
    assert (error["code"], error.get("error_subcode")) == (code, subcode)


async def test_debug_token_reports_expired_and_unknown_tokens(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    fake_graph.seed()
    expired = fake_graph.state.add_token(APP_ID, expires_at=int(time.time()) - 5)
    app_token = auth(f"{APP_ID}|{APP_SECRET}")
    data = (await http.get("/debug_token", params={"input_token": expired.value}, headers=app_token)).json()[
        "data"
    ]
    assert data["is_valid"] is False
    assert data["error"]["subcode"] == 463
    data = (await http.get("/debug_token", params={"input_token": "EAAnope"}, headers=app_token)).json()[
        "data"
    ]
    assert data["is_valid"] is False
    refused = await http.get("/debug_token", params={"input_token": "x"}, headers=auth(f"{APP_ID}|wrong"))
    assert error_of(refused)["code"] == 190


async def test_unknown_version_is_refused(fake_graph: FakeGraph) -> None:
    seeded = fake_graph.seed()
    async with httpx2.AsyncClient(base_url=fake_graph.url, verify=SSL) as client:
        response = await client.get(f"/latest/{WABA_ID}", headers=auth(seeded.token.value))
    assert error_of(response)["code"] == 2500
