"""The development outbox: what would have been mailed when no SMTP_URL is set (development only)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.mail.models import DevMail
from app.mail.service import mailer
from app.tenancy.context import require_signed_in
from app.web.services import services
from app.web.templating import render


async def outbox(request: Request) -> Response:
    svc = services(request)
    if svc.settings.is_production or not mailer(request).uses_dev_outbox:
        raise HTTPException(404)
    async with svc.db.read() as session:
        await require_signed_in(request, session)
        mails = list(await session.scalars(select(DevMail).order_by(DevMail.id.desc()).limit(100)))
    return render(request, "mail/outbox.html", {"mails": mails})


routes = [Route("/dev/mail", outbox, name="mail:outbox")]
