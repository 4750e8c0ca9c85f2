"""Imports every feature's models so that the metadata (and Alembic) sees all tables."""
from certapp.accounts.models import ApiToken, User  # noqa: F401
from certapp.audit.models import AuditEvent  # noqa: F401
from certapp.bookkeeping.models import Agreement, PaymentRegister, PaymentRegisterLine  # noqa: F401
from certapp.certificates.models import Certificate, CertificateApplication, Child  # noqa: F401
from certapp.contracts.models import Contract, ContractMonth, Enrollment, ServiceReport  # noqa: F401
from certapp.deadlines.models import DeadlineRule, Holiday  # noqa: F401
from certapp.documents.models import DocumentCounter  # noqa: F401
from certapp.imports.models import ImportBatch, ImportedRow  # noqa: F401
from certapp.jobs.models import Job  # noqa: F401
from certapp.ledger.models import CertificateBalance, LedgerEntry  # noqa: F401
from certapp.mail.models import OutboxMessage  # noqa: F401
from certapp.monitoring.models import ChecklistItem, MonitoringVisit, VisitResult  # noqa: F401
from certapp.notifications.models import Notification  # noqa: F401
from certapp.pagecache.models import DataVersion  # noqa: F401
from certapp.programs.models import Program, StudyGroup  # noqa: F401
from certapp.publication.models import Publication  # noqa: F401
from certapp.reference.models import Direction, Municipality, Period  # noqa: F401
from certapp.registry.models import License, Provider, RegistryApplication, RegistryEntry, StaffRequest  # noqa: F401
from certapp.reporting.models import Feedback, IndicatorValue, SocialOrder, SocialOrderLine  # noqa: F401
