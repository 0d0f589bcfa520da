"""Wiring the alert passes into a worker from the settings (web process or ``wabawatch worker``)."""

from __future__ import annotations

from app.alerts.models import ChannelKind
from app.alerts.sender import AlertSender
from app.alerts.transports import Registry
from app.alerts.transports.email import EmailTransport
from app.alerts.transports.slack import SlackTransport
from app.alerts.url_guard import UrlPolicy
from app.db.engine import Database
from app.jobs.runner import Pass
from app.mail.service import Mailer
from app.settings import Settings


def url_policy(settings: Settings) -> UrlPolicy:
    return UrlPolicy(
        allowed_hosts=settings.slack_hosts, allow_loopback=settings.alerts_allow_loopback_targets
    )


def build_registry(settings: Settings, mailer: Mailer) -> Registry:
    return Registry(
        {
            ChannelKind.EMAIL: EmailTransport(mailer, base_url=settings.base_url),
            ChannelKind.SLACK: SlackTransport(
                policy=url_policy(settings),
                base_url=settings.base_url,
                timeout=settings.alerts_send_timeout_seconds,
            ),
        }
    )


def build_sender(db: Database, settings: Settings, **options: object) -> AlertSender:
    mailer = Mailer(
        db=db,
        smtp_url=settings.smtp_url.get_secret_value() if settings.smtp_url else None,
        sender=settings.mail_from,
    )
    return AlertSender(db, build_registry(settings, mailer), **options)  # type: ignore[arg-type]


def alert_passes(db: Database, settings: Settings) -> list[Pass]:
    return build_sender(db, settings).passes()
