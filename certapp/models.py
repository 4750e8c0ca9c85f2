"""Imports every feature's models so that the metadata (and Alembic) sees all tables."""
from certapp.accounts.models import ApiToken, User  # noqa: F401
from certapp.audit.models import AuditEvent  # noqa: F401
from certapp.reference.models import Direction, District, Period  # noqa: F401
