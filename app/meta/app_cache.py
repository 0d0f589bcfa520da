"""The receiver's view of Meta apps: secrets decrypted once and kept for a short TTL.

A lookup per request would cost a query and a Fernet decrypt on the hot path. Entries (unknown app
ids too, so a flood of made-up ids does not reach the database) live ``ttl`` seconds; a change made in
this process calls ``invalidate`` after its commit, so it takes effect at once here and within the
TTL in other processes. Concurrent misses for one app id share one database read.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass

from app.db.engine import Database
from app.meta import queries


@dataclass(frozen=True)
class KnownApp:
    pk: int
    app_id: str
    secret: bytes
    verify_token: bytes


class Missing:
    """What ``AppCache.cached`` returns when it has no fresh entry (None means "no such app")."""


MISSING = Missing()
_caches: weakref.WeakSet[AppCache] = weakref.WeakSet()


def invalidate(app_id: str | None = None) -> None:
    """Forget ``app_id`` (every app when None) in every receiver of this process."""
    for cache in list(_caches):
        cache.invalidate(app_id)


class AppCache:
    def __init__(self, db: Database, *, ttl: float = 10.0, max_entries: int = 10_000) -> None:
        self._db = db
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, KnownApp | None]] = {}
        self._loading: dict[str, asyncio.Future[KnownApp | None]] = {}
        # Bumped by invalidate, so a read that started before a change is not cached after it.
        self._generation = 0
        _caches.add(self)

    def invalidate(self, app_id: str | None = None) -> None:
        self._generation += 1
        if app_id is None:
            self._entries.clear()
        else:
            self._entries.pop(app_id, None)

    def cached(self, app_id: str) -> KnownApp | Missing | None:
        """A fresh entry without awaiting (the hot path's usual case); ``MISSING`` means ``get``."""
        found = self._entries.get(app_id)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        return MISSING

    async def get(self, app_id: str) -> KnownApp | None:
        """The app, or None when no app has this id. Database errors propagate (the caller says 503)."""
        found = self.cached(app_id)
        if not isinstance(found, Missing):
            return found
        loading = self._loading.get(app_id)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[KnownApp | None] = asyncio.get_running_loop().create_future()
        self._loading[app_id] = future
        generation = self._generation
        try:
            app = await self._load(app_id)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a future nobody else awaited does not warn
            raise
        else:
            future.set_result(app)
        finally:
            del self._loading[app_id]
        if generation != self._generation:
            return app
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[app_id] = (time.monotonic() + self._ttl, app)
        return app

    async def _load(self, app_id: str) -> KnownApp | None:
        async with self._db.read() as session:
            app = await queries.app_by_app_id(session, app_id)
            if app is None:
                return None
            return KnownApp(
                pk=app.id,
                app_id=app.app_id,
                secret=app.app_secret.encode(),
                verify_token=app.verify_token.encode(),
            )
