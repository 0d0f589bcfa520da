"""The long-lived resources of one running app, owned by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from app.db.engine import Database
from app.lib.passwords import PasswordHasherBox
from app.settings import Settings

if TYPE_CHECKING:
    from app.auth.oidc import OidcClient
    from app.mail.service import Mailer


@dataclass
class Services:
    settings: Settings
    db: Database
    hasher: PasswordHasherBox
    mailer: Mailer
    oidc: OidcClient | None


def services(conn: HTTPConnection) -> Services:
    found: Services = conn.app.state.services
    return found
