"""Imports every model so ``Base.metadata`` is complete (Alembic, the schema test)."""

from app.auth import models as auth_models
from app.db.base import Base
from app.mail import models as mail_models
from app.tenancy import models as tenancy_models

__all__ = ["Base", "auth_models", "mail_models", "tenancy_models"]
