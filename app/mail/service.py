"""All mail leaves through here: SMTP when SMTP_URL is set, otherwise the development outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib
from starlette.requests import HTTPConnection

from app.db.engine import Database
from app.mail.models import DevMail

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    """The mail server did not take the message; the text says why, without credentials."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        """smtp://user:pass@host:587 (STARTTLS when offered), smtps://host:465 (TLS), smtp+plain:// (none)."""
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps", "smtp+plain"} or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
        default_port = {"smtp": 587, "smtps": 465, "smtp+plain": 25}[parts.scheme]
        return cls(
            hostname=parts.hostname,
            port=parts.port or default_port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=parts.scheme == "smtps",
            start_tls=parts.scheme == "smtp",
        )


class Mailer:
    def __init__(self, *, db: Database, smtp_url: str | None, sender: str) -> None:
        self.db = db
        self.smtp = SmtpTarget.parse(smtp_url) if smtp_url else None
        self.sender = sender

    @property
    def uses_dev_outbox(self) -> bool:
        return self.smtp is None

    def build(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        if mail.html is not None:
            message.add_alternative(mail.html, subtype="html")
        return message

    async def send(self, mail: Mail) -> None:
        if self.smtp is None:
            async with self.db.transaction() as session:
                session.add(
                    DevMail(recipient=mail.to, subject=mail.subject, text_body=mail.text, html_body=mail.html)
                )
            return
        try:
            await aiosmtplib.send(
                self.build(mail),
                hostname=self.smtp.hostname,
                port=self.smtp.port,
                username=self.smtp.username,
                password=self.smtp.password,
                use_tls=self.smtp.use_tls,
                start_tls=None if self.smtp.start_tls else False,
                timeout=15,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            where = f"{self.smtp.hostname}:{self.smtp.port}"
            log.warning("mail to %s:%s failed: %s", self.smtp.hostname, self.smtp.port, type(exc).__name__)
            raise MailError(
                f"the mail server at {where} did not take the message ({type(exc).__name__})"
            ) from exc
        log.info("mail sent", extra={"subject": mail.subject})


def mailer(conn: HTTPConnection) -> Mailer:
    """The app's mailer, which the lifespan puts on ``app.state``."""
    found: Mailer = conn.app.state.mailer
    return found
