"""A registered Meta app for tests, and Meta's way of signing a body."""

from __future__ import annotations

from app.db.engine import Database
from app.meta import app_cache, service
from app.meta.models import MetaApp
from app.simulator.base import signature

APP_ID = "1234567890123456"
SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "verify-me-please"


async def create_meta_app(
    db: Database,
    *,
    org_id: int | None = None,
    app_id: str = APP_ID,
    secret: str = SECRET,
    verify_token: str = VERIFY_TOKEN,
    name: str = "Test app",
) -> MetaApp:
    async with db.transaction() as session:
        saved = await service.save_app(
            session, org_id=org_id, app_id=app_id, name=name, app_secret=secret, verify_token=verify_token
        )
    # Tables are emptied between tests, so forget what earlier tests cached.
    app_cache.invalidate()
    return saved.app


def sign(body: bytes, secret: str = SECRET) -> str:
    return signature(secret, body)
