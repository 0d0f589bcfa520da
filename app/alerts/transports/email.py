"""Alerts by mail, through the app's Mailer settings (SMTP_URL, or the development outbox).

Inside a batch, messages share one SMTP connection (sent one after another under a lock): a burst of
alerts costs one connect and log-in, not one per message. A broken shared connection is dropped and
the message is retried later like any failed send.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiosmtplib

from app.alerts import render
from app.alerts.messages import AlertMessage
from app.alerts.transports import DeliveryError, PermanentFailure, Target
from app.mail.service import Mail, Mailer, MailError

log = logging.getLogger(__name__)


@dataclass
class _Shared:
    smtp: aiosmtplib.SMTP | None
    lock: asyncio.Lock


_shared: contextvars.ContextVar[_Shared | None] = contextvars.ContextVar("alert_smtp", default=None)


class EmailTransport:
    def __init__(self, mailer: Mailer, *, base_url: str) -> None:
        self.mailer = mailer
        self.base_url = base_url

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        target = self.mailer.smtp
        if target is None:
            yield
            return
        shared = _Shared(smtp=None, lock=asyncio.Lock())
        token = _shared.set(shared)
        try:
            yield
        finally:
            _shared.reset(token)
            if shared.smtp is not None:
                try:
                    await shared.smtp.quit()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    shared.smtp.close()

    async def _send_shared(self, shared: _Shared, mail: Mail) -> None:
        target = self.mailer.smtp
        assert target is not None
        async with shared.lock:
            try:
                if shared.smtp is None:
                    shared.smtp = aiosmtplib.SMTP(
                        hostname=target.hostname,
                        port=target.port,
                        username=target.username,
                        password=target.password,
                        use_tls=target.use_tls,
                        start_tls=None if target.start_tls else False,
                        timeout=15,
                    )
                    await shared.smtp.connect()
                await shared.smtp.send_message(self.mailer.build(mail))
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                broken, shared.smtp = shared.smtp, None
                if broken is not None:
                    broken.close()
                where = f"{target.hostname}:{target.port}"
                raise DeliveryError(
                    f"the mail server at {where} did not take the message ({type(exc).__name__})"
                ) from exc

    async def send(self, target: Target, message: AlertMessage) -> None:
        if not target.addresses:
            raise PermanentFailure("no recipients (no owner or confirmed address)")
        subject = render.email_subject(message)
        text = render.email_text(message, base_url=self.base_url)
        html = render.email_html(message, base_url=self.base_url)
        shared = _shared.get()
        for address in target.addresses:
            mail = Mail(to=address, subject=subject, text=text, html=html)
            if shared is not None:
                await self._send_shared(shared, mail)
                continue
            try:
                await self.mailer.send(mail)
            except MailError as exc:
                raise DeliveryError(str(exc)) from exc
