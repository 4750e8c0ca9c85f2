"""What the contracts feature does when a certificate is issued or a group's capacity changes."""

from sqlalchemy import select

from certapp.accounts.models import User
from certapp.certificates.models import Certificate
from certapp.common import clock, events
from certapp.common.errors import DomainError, ValidationError
from certapp.common.months import first_of_month
from certapp.common.rows import get_existing
from certapp.contracts.enrollments import request_enrollment
from certapp.contracts.models import Enrollment
from certapp.contracts.seats import occupied_seats
from certapp.db import db
from certapp.programs.models import StudyGroup


@events.certificate_issued.connect
@events.certificate_funded.connect
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
        events.certificate_application_enrollment_not_sent.send(application, reason=error.message)


@events.study_group_capacity_set.connect
def capacity_holds_the_contracts(group: StudyGroup, capacity: int, **_: object) -> None:
    """A group cannot have fewer places than its contracts (offered or in force) hold."""
    occupied = occupied_seats([group.id]).get(group.id, 0)
    if capacity < occupied:
        raise ValidationError(f"В группе уже {occupied} обучающихся: мест не может быть меньше.", field="capacity")
