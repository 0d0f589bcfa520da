"""Jinja2 set-up. One template serves a page and its HTMX fragment (a named block)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from app.web import csrf, toasts

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"


def _context(request: Request) -> dict[str, Any]:
    return {
        "csrf_token": csrf.get_token(request),
        "toasts": toasts.pop_all(request),
        "settings": request.app.state.services.settings,
        "current_user": getattr(request.state, "signed_in", None),
        "user_orgs": getattr(request.state, "user_orgs", []),
        "current_org": getattr(request.state, "org", None),
        "current_role": getattr(request.state, "role", None),
    }


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code; checking every file's mtime on each render costs page time.
        auto_reload=False,
        cache_size=1000,
    )
    return Jinja2Templates(env=env, context_processors=[_context])


templates = make_templates()


def is_htmx(request: Request) -> bool:
    # History restores want the whole page.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    block: str | None = None,
    background: BackgroundTask | None = None,
) -> HTMLResponse:
    """Render a page, or only ``block`` of it for an HTMX request."""
    context = dict(context or {})
    headers = {"Vary": "HX-Request"}
    if block is not None and is_htmx(request):
        template = templates.env.get_template(name)
        full = {**_context(request), "request": request, **context}
        ctx = template.new_context(full)
        html = "".join(template.blocks[block](ctx))
        return HTMLResponse(html, status_code=status_code, headers=headers, background=background)
    response = templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=headers, background=background
    )
    return response
