"""What runs once new events are committed: live updates and alerts attach here (``app.worker``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import HTTPConnection

log = logging.getLogger(__name__)

# Called with the ids of newly created events once their transaction has committed; a hook must be
# quick (enqueue, notify) and never raise.
EventsCommittedHook = Callable[[Sequence[int]], Awaitable[None]]


async def events_committed(hooks: Sequence[EventsCommittedHook], event_ids: Sequence[int]) -> None:
    """Runs the after-commit hooks; a failing hook is logged and never undoes or blocks processing."""
    if not event_ids:
        return
    for hook in hooks:
        try:
            await hook(event_ids)
        except Exception:
            log.exception("after-commit hook %r failed for %d events", hook, len(event_ids))


def committed_hooks(conn: HTTPConnection) -> Sequence[EventsCommittedHook]:
    """The web process's after-commit hooks, for a page that makes events (``app.main`` sets them
    from ``app.worker.after_commit_hooks``, the list every worker runs)."""
    found: Sequence[EventsCommittedHook] = conn.app.state.events_committed_hooks
    return found
