"""A fake of Meta's Graph API: a real HTTP server with state, for tests and ``wabawatch demo``.

``create_fake_graph(state)`` builds the Starlette app; ``serve_fake_graph()`` runs it on loopback.
``FakeGraphState`` is the world (apps, tokens, WABAs, subscriptions) and how to make it fail.
"""
