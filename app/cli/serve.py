"""``wabawatch serve [--host H] [--port P]``: the web app under uvicorn.

The listening socket is bound before anything else happens, so a port already in use is a one-line
error at once (and ``wabawatch demo`` neither migrates nor announces anything it cannot serve)."""

from __future__ import annotations

import argparse
import socket
from typing import TYPE_CHECKING

from app.cli.base import CommandError
from app.settings import Settings

if TYPE_CHECKING:
    from starlette.types import ASGIApp


def serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the web app")
    serve_options(serve)
    serve.set_defaults(handler=cmd_serve)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or CommandError saying in words why there is none."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise CommandError(f"cannot listen on {host}:{port} ({reason}); choose another with --port") from exc
    return sock


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    settings.check_production()
    sock = bind(args.host, args.port)
    from app.main import create_app

    run(create_app(settings), sock)
    return 0


def run(app: ASGIApp, sock: socket.socket) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        log_level="info",
        log_config=None,  # uvicorn's lines go through the app's JSON handler (app.web.logs)
        access_log=False,
    )
    uvicorn.Server(config).run(sockets=[sock])
