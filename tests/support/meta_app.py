"""The test Meta app's identity (what ``create_meta_app`` registers by default), and Meta's way of
signing a body with its secret."""

from __future__ import annotations

from app.simulator.base import signature

APP_ID = "1234567890123456"
SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "verify-me-please"


def sign(body: bytes, secret: str = SECRET) -> str:
    return signature(secret, body)
