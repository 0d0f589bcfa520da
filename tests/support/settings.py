"""The settings every test app is built with: the test database, a fixed encryption key, fast
password hashing, no mail server, no single sign-on and no in-process worker."""

from __future__ import annotations

from app.settings import Settings

TEST_KEY = "yK3Sx2zY5oUbbf0v4Cdc9rIuNDr7o1Mwbm3vhm6sHGw="


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "env": "development",
        "secret_key": "test-secret-key-0123456789-abcdefghijklmnop",
        "encryption_keys": TEST_KEY,
        "base_url": "http://testserver",
        "password_hash_fast": True,
        "smtp_url": None,
        "oidc_discovery_url": None,
        "oidc_client_id": None,
        # Tests drive processing themselves; tests of the in-process worker turn it on.
        "worker_in_process": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
