"""Alerts by mail, through the app's Mailer settings (SMTP_URL, or the development outbox).

Inside a batch, messages share a few SMTP connections (at most ``CONNECTIONS``, each carrying one
message at a time): a burst of alerts costs a few connects and log-ins, not one per message, and
the round trips of one message (MAIL, RCPT, DATA) no longer hold up all the others. A broken
shared connection is dropped and the message is retried later like any failed send.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiosmtplib

from app.alerts import render
from app.alerts.messages import AlertMessage
from app.alerts.transports import DeliveryError, PermanentFailure, Target
from app.mail.service import Mail, Mailer, MailError

log = logging.getLogger(__name__)


CONNECTIONS = 4


@dataclass
class _Shared:
    """The batch's connections: ``gate`` lets at most CONNECTIONS messages out at once; a message
    takes an idle connection or opens one, and puts it back when the server took the message."""

    gate: asyncio.Semaphore
    idle: list[aiosmtplib.SMTP] = field(default_factory=list)


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
        shared = _Shared(gate=asyncio.Semaphore(CONNECTIONS))
        token = _shared.set(shared)
        try:
            yield
        finally:
            _shared.reset(token)
            for smtp in shared.idle:
                try:
                    await smtp.quit()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    smtp.close()

    def _connection(self) -> aiosmtplib.SMTP:
        target = self.mailer.smtp
        assert target is not None
        return aiosmtplib.SMTP(
            hostname=target.hostname,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.use_tls,
            start_tls=None if target.start_tls else False,
            timeout=15,
        )

    async def _send_shared(self, shared: _Shared, mail: Mail) -> None:
        target = self.mailer.smtp
        assert target is not None
        message = self.mailer.build(mail)
        async with shared.gate:
            smtp = shared.idle.pop() if shared.idle else None
            try:
                if smtp is None:
                    smtp = self._connection()
                    await smtp.connect()
                await smtp.send_message(message)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                if smtp is not None:
                    smtp.close()
                where = f"{target.hostname}:{target.port}"
                raise DeliveryError(
                    f"the mail server at {where} did not take the message ({type(exc).__name__})"
                ) from exc
            shared.idle.append(smtp)

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
