"""Alerts by mail, through the app's one Mailer (SMTP_URL, or the development outbox)."""

from __future__ import annotations

from app.alerts import render
from app.alerts.messages import AlertMessage
from app.alerts.transports import DeliveryError, PermanentFailure, Target
from app.mail.service import Mail, Mailer, MailError


class EmailTransport:
    def __init__(self, mailer: Mailer, *, base_url: str) -> None:
        self.mailer = mailer
        self.base_url = base_url

    async def send(self, target: Target, message: AlertMessage) -> None:
        if not target.addresses:
            raise PermanentFailure("no recipients (no owner or confirmed address)")
        subject = render.email_subject(message)
        text = render.email_text(message, base_url=self.base_url)
        html = render.email_html(message, base_url=self.base_url)
        for address in target.addresses:
            try:
                await self.mailer.send(Mail(to=address, subject=subject, text=text, html=html))
            except MailError as exc:
                raise DeliveryError(str(exc)) from exc
