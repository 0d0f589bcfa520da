"""The long-lived plumbing of one running app, owned by the lifespan. A domain's own resource (the
mailer, the single sign-on client) sits on ``app.state`` beside it and is reached through that
domain's accessor, so this module names no domain."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from app.db.engine import Database
from app.lib.passwords import PasswordHasherBox
from app.settings import Settings

if TYPE_CHECKING:
    from app.graph.client import GraphClient


@dataclass
class Services:
    settings: Settings
    db: Database
    hasher: PasswordHasherBox
    # One Graph client per process: its connections and rate-limit tracker are shared by every request.
    graph: GraphClient
    # Set after deliveries are committed, so an in-process worker wakes at once instead of polling.
    intake_wakeup: asyncio.Event = field(default_factory=asyncio.Event)


def services(conn: HTTPConnection) -> Services:
    found: Services = conn.app.state.services
    return found
