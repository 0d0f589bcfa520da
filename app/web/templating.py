"""Jinja2 set-up. One template serves a page and its HTMX fragment (a named block)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.background import BackgroundTask
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Host, Mount, NoMatchFound, Route, WebSocketRoute
from starlette.templating import Jinja2Templates

from app.lib import phones, vocabulary, words
from app.lib.timeutil import when
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


class _RouteIndex:
    """Named routes by name, so a template's ``url_for`` finds its route in one lookup.

    Starlette's ``url_for`` asks every route of the app in turn (about 0.1 ms a call with this
    app's hundred routes), and a page with a card or a row per WABA or event calls it dozens of
    times. Only plain ``Route``s are indexed, first one per name, and only where no mount before
    them could answer that name (the router's own order); any other name, or a route that refuses
    the parameters, goes through the router as before.
    """

    def __init__(self) -> None:
        self._by_router: dict[int, tuple[list[BaseRoute], dict[str, Route]]] = {}

    def route(self, router: Any, name: str) -> Route | None:
        routes: list[BaseRoute] = router.routes
        known = self._by_router.get(id(router))
        if known is None or known[0] is not routes:
            index: dict[str, Route] = {}
            claimed: list[str] = []  # names (and "name:" prefixes) of mounts that come first
            for candidate in routes:
                if isinstance(candidate, Route):
                    name = candidate.name
                    if name not in index and not any(name == c or name.startswith(c + ":") for c in claimed):
                        index[name] = candidate
                elif isinstance(candidate, Mount | Host | WebSocketRoute) and candidate.name:
                    claimed.append(candidate.name)
                else:  # an unnamed mount may answer any name: leave the rest to the router
                    break
            known = (routes, index)
            self._by_router[id(router)] = known
        return known[1].get(name)


_routes = _RouteIndex()


@jinja2.pass_context
def url_for(context: dict[str, Any], name: str, /, **path_params: Any) -> URL:
    request: Request = context["request"]
    router = request.scope.get("router") or request.scope.get("app")
    route = _routes.route(router, name) if router is not None else None
    if route is not None:
        try:
            return route.url_path_for(name, **path_params).make_absolute_url(base_url=request.base_url)
        except NoMatchFound:
            pass
    return request.url_for(name, **path_params)


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
    env.globals["url_for"] = url_for
    env.filters["plain"] = words.plain
    env.filters["browser"] = words.browser_name
    # Every time on a page: "2026-12-03 14:05 UTC" (see ``app.lib.timeutil.when``).
    env.filters["when"] = when
    # Meta's codes in words: ``{{ code | say("tier") }}``, ``{{ code | say_with_code("tier") }}``.
    env.filters["say"] = lambda code, kind: vocabulary.say(kind, code)
    env.filters["say_with_code"] = lambda code, kind: vocabulary.say_with_code(kind, code)
    env.filters["time_zone"] = vocabulary.time_zone
    env.filters["phone"] = phones.pretty
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
