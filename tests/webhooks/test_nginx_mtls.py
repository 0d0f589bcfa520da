"""Mutual TLS for real: nginx from Debian runs deploy/nginx/wabawatch.conf in front of the app
(served by uvicorn), with a Meta-like CA and client certificates made in the test. The app
requires the proxy's verdict (WEBHOOK_REQUIRE_CLIENT_CERT) and believes it only from the proxy."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import uvicorn
from sqlalchemy import func, select

from app.db.engine import Database
from app.main import create_app
from app.meta.models import MetaApp
from app.settings import Settings
from app.webhooks.models import WebhookDelivery, WebhookRejection
from tests.factories import create_meta_app, running_app, settings_with
from tests.support.certs import META_CN, issue, make_ca
from tests.support.meta_app import sign
from tests.support.payloads import body, entry, quality_change
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (scripts/test installs Debian's nginx-light)"
)
WABA = "102290129340398"


@contextmanager
def serve_app(settings: Settings) -> Iterator[int]:
    """The whole app under uvicorn on loopback, in a thread (its own loop and engine)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", ws="none", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="mtls-app")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class Tls:
    folder: Path
    server_ca: Path
    clients: dict[str, tuple[Path, Path]]


def make_certificates(folder: Path) -> Tls:
    meta_ca, other_ca, server_ca = (
        make_ca("Meta Outbound API CA"),
        make_ca("Someone Else CA"),
        make_ca("Server CA"),
    )
    issue(server_ca, "127.0.0.1", server=True).write(folder, "server")
    server_ca_path, _ = server_ca.write(folder, "server-ca")
    (folder / "meta-outbound-api-ca.pem").write_bytes(meta_ca.write(folder, "meta-ca")[0].read_bytes())
    clients = {
        "meta": issue(meta_ca, META_CN).write(folder, "meta"),
        "wrong_cn": issue(meta_ca, "client.example.com").write(folder, "wrong-cn"),
        "wrong_ca": issue(other_ca, META_CN).write(folder, "wrong-ca"),
    }
    return Tls(folder, server_ca_path, clients)


@contextmanager
def run_nginx(folder: Path, tls: Tls, app_port: int) -> Iterator[int]:
    """deploy/nginx/wabawatch.conf with only its paths and ports changed, under a minimal nginx.conf."""
    port, plain_port = free_port(), free_port()
    site = (REPO / "deploy/nginx/wabawatch.conf").read_text()
    for old, new in [
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;"),
        ("listen 80;", f"listen 127.0.0.1:{plain_port};"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};"),
        ("/etc/wabawatch/tls/", f"{tls.folder}/"),
    ]:
        assert old in site, old
        site = site.replace(old, new)
    (folder / "wabawatch.conf").write_text(site)
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"""{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {folder}/wabawatch.conf;
}}
"""
    )
    assert NGINX is not None
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"nginx did not start: {output}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def client_tls(tls: Tls, who: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(tls.server_ca))
    if who is not None:
        cert, key = tls.clients[who]
        context.load_cert_chain(str(cert), str(key))
    return context


async def post_through_proxy(port: int, tls: Tls, who: str | None, app: MetaApp, payload: bytes) -> int:
    async with httpx2.AsyncClient(verify=client_tls(tls, who), timeout=10) as client:
        response = await client.post(
            f"https://127.0.0.1:{port}/webhooks/whatsapp/{app.app_id}",
            content=payload,
            headers={"x-hub-signature-256": sign(payload), "content-type": "application/json"},
        )
    return response.status_code


async def test_only_metas_certificate_through_the_proxy_gets_in(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    meta_app = await create_meta_app(db)
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    tls = make_certificates(tls_dir)
    strict = settings_with(settings, webhook_require_client_cert=True, webhook_trusted_proxies="127.0.0.1")

    def payload(n: int) -> bytes:
        return json.dumps(
            body(entry(WABA, [quality_change("DOWNGRADE", "TIER_1K")], time=1_700_000_000 + n))
        ).encode()

    with serve_app(strict) as app_port, run_nginx(tmp_path, tls, app_port) as port:
        assert await post_through_proxy(port, tls, "meta", meta_app, payload(1)) == 200
        assert await post_through_proxy(port, tls, "wrong_cn", meta_app, payload(2)) == 403
        assert await post_through_proxy(port, tls, None, meta_app, payload(3)) == 403
        assert await post_through_proxy(port, tls, "wrong_ca", meta_app, payload(4)) == 403
        # The handshake (GET) still works without a certificate.
        async with httpx2.AsyncClient(verify=client_tls(tls, None)) as browser:
            handshake = await browser.get(
                f"https://127.0.0.1:{port}/webhooks/whatsapp/{meta_app.app_id}",
                params={
                    "hub.mode": "subscribe",
                    "hub.verify_token": "verify-me-please",
                    "hub.challenge": "7",
                },
            )
        assert handshake.text == "7"

    async with db.read() as session:
        stored = await session.scalar(select(func.count()).select_from(WebhookDelivery))
    assert stored == 1


async def test_the_verdict_counts_only_from_a_trusted_proxy_address(settings: Settings, db: Database) -> None:
    meta_app = await create_meta_app(db)
    raw = json.dumps(body(entry(WABA, [quality_change("DOWNGRADE", "TIER_1K")]))).encode()
    forged = {
        "x-hub-signature-256": sign(raw),
        "x-client-verify": "SUCCESS",
        "x-client-dn": f"CN={META_CN},O=Meta Platforms\\, Inc.",
    }
    url = f"/webhooks/whatsapp/{meta_app.app_id}"
    overrides = {"webhook_require_client_cert": True, "webhook_trusted_proxies": "10.1.0.0/16"}
    async with running_app(settings, address="203.0.113.9", **overrides) as outsider:
        assert (await outsider.post(url, content=raw, headers=forged)).status_code == 403
    async with running_app(settings, address="10.1.2.3", **overrides) as proxy:
        lookalike = {**forged, "x-client-dn": f"CN={META_CN}.evil.example"}
        assert (await proxy.post(url, content=raw, headers=lookalike)).status_code == 403
        assert (
            await proxy.post(url, content=raw, headers={**forged, "x-client-verify": "FAILED"})
        ).status_code == 403
        assert (await proxy.post(url, content=raw, headers=forged)).status_code == 200
    async with db.read() as session:
        refused = await session.scalar(
            select(func.sum(WebhookRejection.count)).where(WebhookRejection.reason == "client_cert")
        )
    assert refused == 3


async def test_without_the_setting_no_certificate_is_needed(settings: Settings, db: Database) -> None:
    meta_app = await create_meta_app(db)
    raw = json.dumps(body(entry(WABA, [quality_change("DOWNGRADE", "TIER_1K")]))).encode()
    async with running_app(settings, address="203.0.113.9") as meta:
        response = await meta.post(
            f"/webhooks/whatsapp/{meta_app.app_id}", content=raw, headers={"x-hub-signature-256": sign(raw)}
        )
    assert response.status_code == 200


def test_a_bad_trusted_proxy_setting_is_refused_at_start(settings: Settings) -> None:
    from app.webhooks.mtls import ClientCertCheck

    with pytest.raises(ValueError, match=r"'proxy\.example' is not an address"):
        ClientCertCheck.from_settings(
            settings_with(settings, webhook_require_client_cert=True, webhook_trusted_proxies="proxy.example")
        )
    with pytest.raises(ValueError, match="needs WEBHOOK_TRUSTED_PROXIES"):
        ClientCertCheck.from_settings(
            settings_with(settings, webhook_require_client_cert=True, webhook_trusted_proxies="")
        )
