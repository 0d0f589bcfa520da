"""Refused alert targets: the guard resolves the host and checks every address, on save and on send."""

from __future__ import annotations

import ipaddress
import socket

import httpx2
import pytest
from pytest_httpserver import HTTPServer

from app.alerts import service
from app.alerts.models import DeliveryStatus
from app.alerts.transports.slack import guarded_transport
from app.alerts.url_guard import GuardedBackend, RefusedTarget, UrlPolicy, address_problem, check_url
from app.db.engine import Database
from app.meta.models import MetaApp
from app.settings import InsecureSettingsError, Settings
from app.wabas.models import Waba
from tests.factories import Personas, settings_with
from tests.support.alerts import Clock, ctx_of, deliveries, quality, rule, sender, slack_channel, webhook

STRICT = UrlPolicy(
    allowed_hosts=frozenset(
        {"hooks.slack.com", "127.0.0.1", "169.254.169.254", "10.1.2.3", "localhost", "93.184.215.14"}
    )
)
LOOPBACK_OK = UrlPolicy(allowed_hosts=STRICT.allowed_hosts, allow_loopback=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/services/x", "must start with https://"),
        ("https://127.0.0.1/services/x", "loopback"),
        ("https://localhost/services/x", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.1.2.3/services/x", "private"),
        ("https://evil.example/services/x", "not allowed"),
        ("https://user:pw@hooks.slack.com/services/x", "user name or password"),
        ("ftp://hooks.slack.com/services/x", "https://"),
        ("https://[::1/services", "not a valid URL"),
    ],
)
async def test_refused_targets(url: str, reason: str) -> None:
    with pytest.raises(RefusedTarget, match=reason):
        await check_url(url, STRICT)


async def test_the_test_escape_hatch_allows_loopback_only() -> None:
    await check_url("http://127.0.0.1:8080/services/x", LOOPBACK_OK)
    with pytest.raises(RefusedTarget, match="link-local"):
        await check_url("http://169.254.169.254/latest/meta-data/", LOOPBACK_OK)
    with pytest.raises(RefusedTarget, match="private"):
        await check_url("https://10.1.2.3/services/x", LOOPBACK_OK)


async def test_a_public_address_on_an_allowed_host_passes() -> None:
    await check_url("https://93.184.215.14/services/T/B/X", STRICT)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "fe80::1",
        "100.64.0.1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "fd00::1",
        "224.0.0.1",
    ],
)
def test_every_non_public_address_is_refused(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address), allow_loopback=False) is not None


def test_the_escape_hatch_is_refused_in_production(settings: Settings) -> None:
    prod = settings_with(
        settings,
        env="production",
        secret_key="x" * 40,
        encryption_keys="yK3Sx2zY5oUbbf0v4Cdc9rIuNDr7o1Mwbm3vhm6sHGw=",
        base_url="https://wabawatch.example",
        password_hash_fast=False,
        alerts_allow_loopback_targets=True,
    )
    with pytest.raises(InsecureSettingsError, match="ALERTS_ALLOW_LOOPBACK_TARGETS"):
        prod.check_production()


async def test_saving_a_loopback_webhook_is_refused_without_the_hatch(
    db: Database, personas: Personas, settings: Settings
) -> None:
    strict = settings_with(settings, slack_allowed_hosts="hooks.slack.com,127.0.0.1")
    with pytest.raises(service.AlertsError, match="https://"):
        await slack_channel(db, strict, ctx_of(personas.org, personas.admin), "http://127.0.0.1/services/x")
    with pytest.raises(service.AlertsError, match="loopback"):
        await slack_channel(db, strict, ctx_of(personas.org, personas.admin), "https://127.0.0.1/services/x")


async def test_the_guard_runs_again_before_each_send(
    db: Database,
    personas: Personas,
    meta_app: MetaApp,
    waba: Waba,
    alert_settings: Settings,
    slack: HTTPServer,
    clock: Clock,
) -> None:
    """Saved while allowed; by sending time the host is no longer allowed: nothing is posted."""
    ctx = ctx_of(personas.org, personas.admin)
    channel = await slack_channel(db, alert_settings, ctx, slack.url_for("/services/T/B/X"))
    await rule(db, ctx, [channel], min_severity="critical")
    await webhook(db, meta_app, quality("DOWNGRADE"))
    tightened = settings_with(alert_settings, alerts_allow_loopback_targets=False)

    await sender(db, tightened, clock).run_due()

    [row] = await deliveries(db)
    assert row.status == DeliveryStatus.FAILED
    assert "https://" in (row.last_error or "")
    assert slack.log == []


class ChangingDns:
    """``socket.getaddrinfo`` for one name that answers a public address first, then loopback:
    what an attacker's DNS server does between a check and a connect (DNS rebinding)."""

    def __init__(self, name: str, answers: list[str]) -> None:
        self.name = name
        self.answers = answers
        self.asked = 0
        self._real = socket.getaddrinfo

    def __call__(
        self, host: object, port: object, *args: object, **kwargs: object
    ) -> list[tuple[object, ...]]:
        if host != self.name:
            return self._real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        answer = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, int(port)))]  # type: ignore[call-overload]


async def test_a_name_that_resolves_inwards_after_the_check_is_not_connected_to(
    monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> None:
    dns = ChangingDns("hooks.slack.com", ["93.184.215.14", "127.0.0.1"])
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    url = f"https://hooks.slack.com:{httpserver.port}/services/T/B/X"
    await check_url(url, STRICT)  # the check sees the public address
    async with httpx2.AsyncClient(transport=guarded_transport(STRICT)) as client:
        with pytest.raises(RefusedTarget, match=r"loopback address \(127\.0\.0\.1\)"):
            await client.post(url, json={"text": "x"})
    assert dns.asked == 2
    assert httpserver.log == []


async def test_the_guarded_connection_reaches_an_allowed_address(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/services/T/B/X", method="POST").respond_with_data("ok")
    async with httpx2.AsyncClient(transport=guarded_transport(LOOPBACK_OK)) as client:
        response = await client.post(httpserver.url_for("/services/T/B/X"), json={"text": "x"})
    assert (response.status_code, response.text) == (200, "ok")


async def test_the_guard_refuses_a_forbidden_address_when_connecting() -> None:
    backend = GuardedBackend(STRICT)
    for host in ("localhost", "169.254.169.254", "10.1.2.3"):
        with pytest.raises(RefusedTarget):
            await backend.connect_tcp(host, 443, timeout=1)
