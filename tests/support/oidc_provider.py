"""A real OpenID provider for tests: oidc-provider-mock 0.3.4 served by Werkzeug in a thread, on loopback.

Its authorize page asks for a subject (``sub``); claims for a subject are set with
``PUT /users/{sub}`` (JSON). A subject without claims gets ``{"email": sub}`` and no
``email_verified``. The issuer is the host the provider was reached by.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import oidc_provider_mock  # type: ignore[import-untyped]
from werkzeug.serving import make_server


@contextmanager
def running_provider() -> Iterator[int]:
    """Yields the port. Werkzeug's interactive debugger, which the package turns on, is taken off."""
    flask_app = oidc_provider_mock.app(require_nonce=True)
    flask_app.debug = False
    flask_app.wsgi_app = flask_app.wsgi_app.app  # unwrap DebuggedApplication
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)
