"""``POST /o/{org_slug}/setup/test-event``: owners and admins send a signed test event to the
org's own callback URL (see ``selftest``). HTMX gets the outcome in place (the event itself then
arrives on the page's live stream); a plain form gets a toast and the overview."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.lib.timeutil import utcnow
from app.meta import queries as meta_queries
from app.meta.service import callback_url
from app.simulator.selftest import Posted, post_selftest, selftest_body
from app.tenancy.context import require_member
from app.tenancy.models import Role
from app.wabas.setup import setup_of
from app.web import toasts
from app.web.forms import form_fields
from app.web.services import services
from app.web.templating import is_htmx, render


async def send_test_event(request: Request) -> Response:
    svc = services(request)
    await form_fields(request)  # the CSRF check has read it; nothing else is taken from the form
    async with svc.db.read() as session:
        ctx = await require_member(request, session, role=Role.ADMIN)
        setup = await setup_of(session, ctx, base_url=svc.settings.base_url)
        waba = setup.test_target
        app = await meta_queries.app_by_pk(session, waba.app_pk) if waba is not None else None
        secret = app.app_secret if app is not None else ""
    if waba is None or app is None:
        posted = Posted("", False, "Connect a WABA first: a test event is shown on a WABA's timeline.", None)
    else:
        body = selftest_body(waba_id=waba.waba_id, sent_by=ctx.user.email, now=utcnow())
        posted = await post_selftest(
            url=callback_url(svc.settings.base_url, app.app_id), secret=secret, body=body
        )
    if not is_htmx(request):
        toasts.add(request, posted.message, "success" if posted.ok else "error")
        return RedirectResponse(request.url_for("tenancy:home", org_slug=ctx.org.slug), 303)
    context = {"ctx": ctx, "posted": posted, "waba": waba}
    return render(request, "wabas/_test_event_result.html", context, status_code=200)


routes = [
    Route("/o/{org_slug}/setup/test-event", send_test_event, methods=["POST"], name="simulator:test_event"),
]
