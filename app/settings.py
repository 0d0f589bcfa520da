"""The one settings object. Nothing else in the code base reads ``os.environ``."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults: good enough to run the demo on a laptop, refused in production.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
DEV_ENCRYPTION_KEY = "ZGV2LWluc2VjdXJlLWVuY3J5cHRpb24ta2V5LTMyYiE="


class InsecureSettingsError(RuntimeError):
    """Raised when production mode is asked to run with development secrets."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///var/wabawatch.sqlite3"
    # FULL also survives a power loss; NORMAL (WAL) survives a killed process.
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    encryption_keys: SecretStr = SecretStr(DEV_ENCRYPTION_KEY)
    base_url: str = "http://127.0.0.1:8000"
    smtp_url: SecretStr | None = None
    mail_from: str = "wabawatch <wabawatch@localhost>"

    signup_enabled: bool = True
    session_max_age_seconds: int = 14 * 24 * 3600
    invitation_max_age_seconds: int = 7 * 24 * 3600
    password_reset_max_age_seconds: int = 3600
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20
    login_failure_window_seconds: int = 15 * 60
    # Cheap argon2 parameters for the test suite; refused in production.
    password_hash_fast: bool = False

    oidc_discovery_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_provider_name: str = "single sign-on"
    oidc_scopes: str = "openid email profile"

    graph_api_base: str = "https://graph.facebook.com"
    graph_api_version: str = "v24.0"
    webhook_max_body_bytes: int = 3 * 1024 * 1024
    # Operations. /metrics answers 404 while METRICS_TOKEN is unset.
    metrics_token: SecretStr | None = None
    # /readyz says "not ready" when the oldest unprocessed delivery or change is older than this.
    ready_max_lag_seconds: int = 300
    log_format: Literal["json", "text"] = "json"
    # Default retention for orgs without their own policy (account events are kept).
    retention_deliveries_days: int = 30
    retention_messages_days: int = 7
    # Mutual TLS is terminated at the reverse proxy (deploy/nginx/wabawatch.conf). When required,
    # webhook POSTs count only from a trusted proxy address that says the client certificate was
    # verified (X-Client-Verify: SUCCESS) for Meta's subject (X-Client-DN); others get 403.
    webhook_require_client_cert: bool = False
    webhook_trusted_proxies: str = "127.0.0.1,::1"
    webhook_client_cert_cn: str = "client.webhooks.fbclientcerts.com"
    # Process webhooks inside the web process. Unset: on for SQLite (one command runs everything),
    # off for PostgreSQL (run `wabawatch worker` processes).
    worker_in_process: bool | None = None

    # Alerts: Slack incoming-webhook URLs must be https on one of these hosts (comma-separated).
    slack_allowed_hosts: str = "hooks.slack.com"
    # Tests only (refused in production): alert URLs may be http:// and reach loopback addresses,
    # so a local receiver can stand in for Slack. Private, link-local and reserved stay refused.
    alerts_allow_loopback_targets: bool = False
    alerts_send_timeout_seconds: float = 10.0

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def slack_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.slack_allowed_hosts.split(",") if h.strip())

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_discovery_url and self.oidc_client_id)

    def check_production(self) -> None:
        """Refuse to run production with development secrets, naming what to set."""
        if not self.is_production:
            return
        problems: list[str] = []
        secret = self.secret_key.get_secret_value()
        if secret == DEV_SECRET_KEY or len(secret) < 32:
            problems.append("SECRET_KEY (a random string of at least 32 characters)")
        keys = self.encryption_keys.get_secret_value()
        if not keys.strip() or DEV_ENCRYPTION_KEY in keys.split(","):
            problems.append(
                "ENCRYPTION_KEYS (comma-separated Fernet keys; make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            )
        if not self.base_url.startswith("https://"):
            problems.append("BASE_URL (the https:// address people open; session cookies are Secure)")
        if self.password_hash_fast:
            problems.append("PASSWORD_HASH_FAST must be off")
        if self.alerts_allow_loopback_targets:
            problems.append("ALERTS_ALLOW_LOOPBACK_TARGETS must be off (it is for tests)")
        if problems:
            raise InsecureSettingsError(
                "Refusing to start in production with insecure settings. Set: " + "; ".join(problems)
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
