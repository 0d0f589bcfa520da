"""Which business owns our app, as the fake Graph API's app node says it, and the check that
compares it with the WABA's owner business (Meta sends no webhooks to an app merely shared with it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from app.connections.ownership import Ownership, check
from app.graph.client import GraphClient
from app.graph.errors import GraphUnavailable
from app.graph.fake.world import DEMO_BUSINESS
from tests.support.fake_graph import APP_ID, APP_SECRET, OTHER_APP_ID, SSL, VERSION, WABA_ID, FakeGraph

PARTNER_BUSINESS = ("1000000000000555", "Partner Agency")


@pytest.fixture
async def http(fake_graph: FakeGraph) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=f"{fake_graph.url}/{VERSION}", timeout=10, verify=SSL) as client:
        yield client


def app_token(app_id: str = APP_ID, secret: str = APP_SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {app_id}|{secret}"}


def owned_by(fake_graph: FakeGraph, app_id: str, business: tuple[str, str] | None) -> None:
    with fake_graph.state.lock:
        app = fake_graph.state.apps[app_id]
        app.business_id = business[0] if business else None
        app.business_name = business[1] if business else ""


async def test_the_app_node_names_the_business_that_owns_the_app(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    fake_graph.seed()
    owned_by(fake_graph, APP_ID, PARTNER_BUSINESS)
    response = await http.get(f"/{APP_ID}", params={"fields": "id,name,business"}, headers=app_token())
    assert response.status_code == 200
    assert response.json() == {
        "id": APP_ID,
        "name": "wabawatch test app",
        "business": {"id": PARTNER_BUSINESS[0], "name": PARTNER_BUSINESS[1]},
    }
    assert "X-App-Usage" in response.headers
    # Still the WABA node under the same path for a WABA id.
    seeded_token = next(iter(fake_graph.state.tokens))
    waba = await http.get(f"/{WABA_ID}", headers={"Authorization": f"Bearer {seeded_token}"})
    assert waba.json()["name"] == "Lucky Shrub (US)"


async def test_an_app_no_business_owns_has_no_business_field(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    fake_graph.seed()
    owned_by(fake_graph, APP_ID, None)
    response = await http.get(f"/{APP_ID}", params={"fields": "id,business"}, headers=app_token())
    assert response.status_code == 200
    assert response.json() == {"id": APP_ID}


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        (app_token(secret="wrong-secret"), 190),
        (app_token(OTHER_APP_ID, "other-secret"), 100),
        ({}, 2500),
    ],
)
async def test_only_the_app_itself_may_read_its_owner(
    fake_graph: FakeGraph, http: httpx2.AsyncClient, headers: dict[str, str], code: int
) -> None:
    fake_graph.seed()
    response = await http.get(f"/{APP_ID}", params={"fields": "business"}, headers=headers)
    assert response.status_code >= 400
    assert response.json()["error"]["code"] == code


async def test_an_unknown_app_field_is_refused(fake_graph: FakeGraph, http: httpx2.AsyncClient) -> None:
    fake_graph.seed()
    response = await http.get(f"/{APP_ID}", params={"fields": "business,colour"}, headers=app_token())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100


async def test_an_app_owned_by_the_wabas_business_gets_no_warning(
    fake_graph: FakeGraph, graph: GraphClient
) -> None:
    fake_graph.seed()
    waba = await graph.get_waba(WABA_ID, next(iter(fake_graph.state.tokens)))
    ownership = await check(graph, app_id=APP_ID, app_secret=APP_SECRET, waba=waba)
    assert (ownership.app_business_id, ownership.waba_business_id) == (DEMO_BUSINESS[0], DEMO_BUSINESS[0])
    assert not ownership.shared
    assert ownership.warning is None


async def test_an_app_of_another_business_is_warned_about_in_words(
    fake_graph: FakeGraph, graph: GraphClient
) -> None:
    fake_graph.seed()
    owned_by(fake_graph, APP_ID, PARTNER_BUSINESS)
    waba = await graph.get_waba(WABA_ID, next(iter(fake_graph.state.tokens)))
    ownership = await check(graph, app_id=APP_ID, app_secret=APP_SECRET, waba=waba)
    assert ownership.shared
    assert ownership.warning == (
        f"App {APP_ID} is owned by Partner Agency ({PARTNER_BUSINESS[0]}), but WABA {WABA_ID} belongs to "
        f"Demo Business ({DEMO_BUSINESS[0]}). Meta sends a WABA's webhooks only to apps owned by its "
        "business: an app that is merely shared with it receives no notifications, even when subscribed. "
        "Use an app owned by Demo Business, unless your business is a Solution Partner this WABA is "
        "shared with and the app has Advanced Access to whatsapp_business_management."
    )


async def test_an_app_no_business_owns_is_warned_about(fake_graph: FakeGraph, graph: GraphClient) -> None:
    fake_graph.seed()
    owned_by(fake_graph, APP_ID, None)
    waba = await graph.get_waba(WABA_ID, next(iter(fake_graph.state.tokens)))
    ownership = await check(graph, app_id=APP_ID, app_secret=APP_SECRET, waba=waba)
    assert ownership.warning is not None
    assert ownership.warning.startswith(f"App {APP_ID} is not owned by any business portfolio, but WABA")


async def test_a_failed_app_read_raises_for_the_caller_to_report(
    fake_graph: FakeGraph, graph: GraphClient
) -> None:
    fake_graph.seed()
    waba = await graph.get_waba(WABA_ID, next(iter(fake_graph.state.tokens)))
    fake_graph.state.fail("server_error", times=None, path=f"/{APP_ID}")
    with pytest.raises(GraphUnavailable, match=f"Could not read which business owns app {APP_ID}"):
        await check(graph, app_id=APP_ID, app_secret=APP_SECRET, waba=waba)


def test_a_waba_whose_owner_graph_did_not_name_cannot_be_compared() -> None:
    unknown = Ownership(APP_ID, PARTNER_BUSINESS[0], PARTNER_BUSINESS[1], WABA_ID, "", "")
    assert not unknown.shared
    assert unknown.warning is None


def test_the_stored_check_is_compared_again_with_the_wabas_current_owner() -> None:
    stored = Ownership(APP_ID, PARTNER_BUSINESS[0], PARTNER_BUSINESS[1], WABA_ID, *DEMO_BUSINESS).as_state()
    assert stored["warning"]
    moved = Ownership.from_state(
        stored, waba_id=WABA_ID, waba_business_id=PARTNER_BUSINESS[0], waba_business_name=PARTNER_BUSINESS[1]
    )
    assert moved.warning is None
    assert moved.as_state()["app_business_id"] == PARTNER_BUSINESS[0]


async def test_an_apps_owner_can_be_set_through_the_control_endpoint(
    fake_graph: FakeGraph, http: httpx2.AsyncClient
) -> None:
    async with httpx2.AsyncClient(base_url=fake_graph.url, verify=SSL) as control:
        owned = {"id": APP_ID, "secret": APP_SECRET, "business_id": PARTNER_BUSINESS[0], "business_name": "P"}
        assert (await control.post("/_fake/apps", json=owned)).status_code == 201
        unowned = {"id": OTHER_APP_ID, "secret": "other-secret", "business_id": None}
        assert (await control.post("/_fake/apps", json=unowned)).status_code == 201
        assert (await control.post("/_fake/apps", json={"secret": "no id"})).status_code == 400
    mine = await http.get(f"/{APP_ID}", params={"fields": "business"}, headers=app_token())
    assert mine.json()["business"] == {"id": PARTNER_BUSINESS[0], "name": "P"}
    other = await http.get(
        f"/{OTHER_APP_ID}", params={"fields": "business"}, headers=app_token(OTHER_APP_ID, "other-secret")
    )
    assert other.json() == {"id": OTHER_APP_ID}


async def test_a_token_of_the_app_may_read_it_too(fake_graph: FakeGraph, http: httpx2.AsyncClient) -> None:
    seeded = fake_graph.seed()
    other = fake_graph.state.add_token(OTHER_APP_ID)
    mine = await http.get(
        f"/{APP_ID}", params={"fields": "business"}, headers={"Authorization": f"Bearer {seeded.token.value}"}
    )
    assert mine.json()["business"]["id"] == DEMO_BUSINESS[0]
    refused = await http.get(
        f"/{APP_ID}", params={"fields": "business"}, headers={"Authorization": f"Bearer {other.value}"}
    )
    assert refused.json()["error"]["code"] == 100
