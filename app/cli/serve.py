"""``wabawatch serve [--host H] [--port P]``: the web app under uvicorn."""

from __future__ import annotations

import argparse

from app.settings import Settings


def serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the web app")
    serve_options(serve)
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.main import create_app

    settings.check_production()
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        log_level="info",
        log_config=None,  # uvicorn's lines go through the app's JSON handler (app.web.logs)
        access_log=False,
    )
    return 0
