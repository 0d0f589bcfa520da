"""``python -m app.graph.fake [--host H] [--port P] [--demo]``: serve the fake Graph API in the foreground.

Point ``GRAPH_API_BASE`` at it; drive it with the ``/_fake/…`` control endpoints.
"""

from __future__ import annotations

import argparse

import uvicorn

from app.graph.fake.app import create_fake_graph
from app.graph.fake.demo import DEMO_APP_ID, DEMO_APP_SECRET, DEMO_TOKEN, DEMO_WABAS, seed_demo_world
from app.graph.fake.state import FakeGraphState


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.graph.fake", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--demo", action="store_true", help="seed the demo app, its WABAs and a token")
    args = parser.parse_args(argv)
    state = FakeGraphState()
    if args.demo:
        seed_demo_world(state, app_id=DEMO_APP_ID, app_secret=DEMO_APP_SECRET, wabas=DEMO_WABAS)
        print(f"demo app {DEMO_APP_ID}; system-user token {DEMO_TOKEN}", flush=True)
    print(f"fake Graph API on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(create_fake_graph(state), host=args.host, port=args.port, log_level="warning", ws="none")


if __name__ == "__main__":
    main()
