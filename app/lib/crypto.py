"""Secrets at rest: MultiFernet over ENCRYPTION_KEYS; the first key encrypts, every key decrypts."""

from __future__ import annotations

import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "Keyring", "new_token", "token_digest"]


class Keyring:
    def __init__(self, keys_csv: str) -> None:
        keys = [k.strip() for k in keys_csv.split(",") if k.strip()]
        if not keys:
            raise ValueError("ENCRYPTION_KEYS is empty")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except ValueError as exc:
            raise ValueError(
                "ENCRYPTION_KEYS must be comma-separated Fernet keys (32 url-safe base64-encoded bytes)"
            ) from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        return self._fernet.decrypt(ciphertext.encode()).decode()

    def rotate(self, ciphertext: str) -> str:
        return self._fernet.rotate(ciphertext.encode()).decode()


def new_token() -> str:
    """A URL-safe random token for links sent by mail."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What we store instead of a link token, so a database read does not yield usable links."""
    return hashlib.sha256(token.encode()).hexdigest()
