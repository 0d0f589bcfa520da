"""Imports every model so ``Base.metadata`` is complete (Alembic, the schema test)."""

from app.alerts import models as alerts_models
from app.audit import models as audit_models
from app.auth import models as auth_models
from app.connections import models as connections_models
from app.db.base import Base
from app.events import models as events_models
from app.mail import models as mail_models
from app.meta import models as meta_models
from app.retention import models as retention_models
from app.staff import models as staff_models
from app.tenancy import models as tenancy_models
from app.wabas import models as wabas_models
from app.webhooks import models as webhooks_models

__all__ = [
    "Base",
    "alerts_models",
    "audit_models",
    "auth_models",
    "connections_models",
    "events_models",
    "mail_models",
    "meta_models",
    "retention_models",
    "staff_models",
    "tenancy_models",
    "wabas_models",
    "webhooks_models",
]
