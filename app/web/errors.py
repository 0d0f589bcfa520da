"""Error pages that say what happened in words and leak nothing else."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.web.security import security_headers
from app.web.templating import is_htmx, render

log = logging.getLogger(__name__)


class LoginRequired(Exception):
    """Raised by handlers that need a signed-in user; answered with a redirect to /login."""


MESSAGES = {
    400: "The request was not understood.",
    403: "You do not have access to this.",
    404: "There is nothing here, or you do not have access to it.",
    405: "That method is not allowed here.",
    429: "Too many requests. Wait a little and try again.",
    500: "Something went wrong on our side. It has been logged; try again in a moment.",
}


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    message = exc.detail if status == 403 and exc.detail != "Forbidden" else MESSAGES.get(status, "Error.")
    if is_htmx(request):
        return render(request, "errors/_toast.html", {"message": message}, status_code=status)
    return render(request, "errors/error.html", {"status": status, "message": message}, status_code=status)


async def login_required(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = request.url_for("auth:login").include_query_params(next=target)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": str(login)})
    return RedirectResponse(login, 303)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    response: Response
    try:
        response = render(
            request, "errors/error.html", {"status": 500, "message": MESSAGES[500]}, status_code=500
        )
    except Exception:
        response = Response("Internal server error", status_code=500, media_type="text/plain")
    hsts = request.app.state.services.settings.secure_cookies
    response.headers.update(security_headers(hsts=hsts))
    return response


handlers: dict[int | type[Exception], object] = {
    HTTPException: http_error,
    LoginRequired: login_required,
    500: server_error,
}
