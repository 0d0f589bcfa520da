"""The development outbox: what would have been mailed when no SMTP_URL is set (development only).

A signed-in user sees the mail addressed to them; staff see every mail. Invitation and reset links
are as good as passwords, and sign-up is open by default, so nobody reads another person's mail."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.mail import queries
from app.mail.service import mailer
from app.tenancy.context import require_signed_in
from app.web.services import services
from app.web.templating import render


async def outbox(request: Request) -> Response:
    svc = services(request)
    if svc.settings.is_production or not mailer(request).uses_dev_outbox:
        raise HTTPException(404)
    async with svc.db.read() as session:
        user = await require_signed_in(request, session)
        mails = await queries.outbox(session, recipient=None if user.is_staff else user.email)
    return render(request, "mail/outbox.html", {"mails": mails, "everyone": user.is_staff})


routes = [Route("/dev/mail", outbox, name="mail:outbox")]
