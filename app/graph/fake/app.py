"""The fake Graph API as a Starlette app: ``create_fake_graph(state)``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.graph.fake import control, routes_app, routes_oauth, routes_waba
from app.graph.fake.common import Refused
from app.graph.fake.state import FakeGraphState

routes = [
    Route("/_fake/faults", control.add_fault, methods=["POST"], name="fake:add_fault"),
    Route("/_fake/faults", control.clear_faults, methods=["DELETE"], name="fake:clear_faults"),
    Route("/_fake/reset", control.reset, methods=["POST"], name="fake:reset"),
    Route("/_fake/apps", control.add_app, methods=["POST"], name="fake:add_app"),
    Route("/_fake/wabas", control.add_waba, methods=["POST"], name="fake:add_waba"),
    Route("/_fake/tokens", control.add_token, methods=["POST"], name="fake:add_token"),
    Route("/_fake/calls", control.list_calls, methods=["GET"], name="fake:calls"),
    Route("/{version}/dialog/oauth", routes_oauth.dialog, methods=["GET"], name="dialog"),
    Route("/{version}/dialog/oauth", routes_oauth.dialog_decision, methods=["POST"], name="dialog:decide"),
    Route(
        "/{version}/oauth/access_token",
        routes_oauth.access_token,
        methods=["GET", "POST"],
        name="access_token",
    ),
    Route("/{version}/debug_token", routes_oauth.debug_token, methods=["GET"], name="debug_token"),
    Route(
        "/{version}/{waba_id}/phone_numbers", routes_waba.list_phone_numbers, methods=["GET"], name="phones"
    ),
    Route(
        "/{version}/{waba_id}/subscribed_apps", routes_waba.get_subscribed_apps, methods=["GET"], name="subs"
    ),
    Route(
        "/{version}/{waba_id}/subscribed_apps", routes_waba.subscribe_app, methods=["POST"], name="subscribe"
    ),
    Route(
        "/{version}/{waba_id}/subscribed_apps", routes_waba.unsubscribe_app, methods=["DELETE"], name="unsub"
    ),
    # An app or a WABA: the same path serves every node.
    Route("/{version}/{waba_id}", routes_app.get_node, methods=["GET"], name="node"),
]


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return exc.response


async def _gone(request: Request, exc: Exception) -> Response:
    """The client gave up (a timeout test): nobody reads this answer."""
    return Response(status_code=499)


class CallLog:
    """Logs each Graph call (not the control endpoints) as it arrives, and then the status it got."""

    def __init__(self, app: ASGIApp, state: FakeGraphState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_fake/"):
            await self.app(scope, receive, send)
            return

        call = self.state.record(scope["method"], scope["path"])

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                call.status = message["status"]
            await send(message)

        await self.app(scope, receive, recording_send)


def create_fake_graph(state: FakeGraphState | None = None) -> Starlette:
    app = Starlette(routes=routes, exception_handlers={Refused: _refused, ClientDisconnect: _gone})
    app.state.graph = state or FakeGraphState()
    app.add_middleware(CallLog, state=app.state.graph)
    return app
