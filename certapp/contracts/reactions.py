"""What the contracts feature does when a certificate is issued."""

from sqlalchemy import select

from certapp.accounts.models import User
from certapp.certificates.models import Certificate
from certapp.common import clock
from certapp.common.errors import DomainError
from certapp.common.events import announce, subscribe
from certapp.common.months import first_of_month
from certapp.contracts.enrollments import request_enrollment
from certapp.contracts.models import Enrollment
from certapp.db import db, get_existing


@subscribe("certificate.issued", "certificate.funded")
def enroll_as_asked(certificate: Certificate, **_: object) -> None:
    """One application for both (document 5 of п. 6.1): the certificate now pays, so the enrollment
    the parent asked for in the same application goes to the provider by itself. If it cannot (no
    seat left, the group over), the parent is told why and chooses again."""
    application = certificate.application
    group = application.wanted_group
    if group is None or db.session.execute(select(Enrollment.id).where(
            Enrollment.certificate_id == certificate.id, Enrollment.group_id == group.id)).first():
        return
    start = max(first_of_month(clock.today()), first_of_month(group.starts_on), first_of_month(certificate.valid_from))
    try:
        with db.session.begin_nested():  # one row's refusal is recorded and the rest goes on: a savepoint undoes that row only
            request_enrollment(get_existing(User, application.parent_id), certificate.id, group.id, start)
    except DomainError as error:
        announce("certificate_application.enrollment_not_sent", application, reason=error.message)
