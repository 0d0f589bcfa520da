"""Templates' ``url_for`` (an index of named routes) builds exactly the URLs Starlette's would."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.convertors import FloatConvertor, IntegerConvertor, PathConvertor, UUIDConvertor
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, NoMatchFound, Route

from app.main import Dispatcher
from app.web import IdConvertor
from app.web.templating import templates

_SAMPLES: dict[type, Any] = {
    IntegerConvertor: 12,
    IdConvertor: 12,
    FloatConvertor: 1.5,
    PathConvertor: "a/b.txt",
    UUIDConvertor: "8f1c7f0e-7d6b-4f7b-9a55-0b5e2a0c1d2e",
}


def request_for(app: Starlette) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "root_path": "",
            "scheme": "http",
            "server": ("testserver", 80),
            "headers": [(b"host", b"testserver")],
            "query_string": b"",
            "app": app,
            "router": app.router,
        }
    )


def template_url(request: Request, name: str, **params: Any) -> str:
    page = templates.env.from_string("{{ url_for(name, **params) }}")
    return page.render(request=request, name=name, params=params)


def sample_params(route: Route) -> dict[str, Any]:
    return {name: _SAMPLES.get(type(conv), "acme") for name, conv in route.param_convertors.items()}


async def test_every_named_route_gets_the_url_starlette_builds(app: Dispatcher) -> None:
    request = request_for(app.web)
    routes = [r for r in app.web.router.routes if isinstance(r, Route) and r.name]
    assert len(routes) > 50
    for route in routes:
        params = sample_params(route)
        assert template_url(request, route.name, **params) == str(request.url_for(route.name, **params))
    static = template_url(request, "static", path="css/app.css")
    assert (
        static == str(request.url_for("static", path="css/app.css")) == "http://testserver/static/css/app.css"
    )


async def test_a_mount_before_a_route_of_the_same_name_still_wins() -> None:
    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse("")

    app = Starlette(
        routes=[
            Mount("/inner", routes=[Route("/{n:int}", page, name="page")]),  # unnamed: answers any name
            Route("/outer/{n:int}", page, name="page"),
            Mount("/named", routes=[Route("/x", page, name="x")], name="named"),
            Route("/named-route", page, name="named:x"),
        ]
    )
    request = request_for(app)
    assert (
        template_url(request, "page", n=3) == str(request.url_for("page", n=3)) == "http://testserver/inner/3"
    )
    assert template_url(request, "named:x") == str(request.url_for("named:x")) == "http://testserver/named/x"


async def test_wrong_parameters_fail_as_starlette_does(app: Dispatcher) -> None:
    request = request_for(app.web)
    with pytest.raises(NoMatchFound):
        template_url(request, "events:timeline")
    with pytest.raises(NoMatchFound):
        template_url(request, "no:such-route")
