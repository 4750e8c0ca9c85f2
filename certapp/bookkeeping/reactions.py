"""What bookkeeping does when other features announce a change (certapp.common.events)."""
from certapp.accounts.models import User
from certapp.bookkeeping.agreements import prepare_agreement
from certapp.common import events
from certapp.registry.models import Admission


@events.admission_active.connect
def agreement_for_an_admitted_provider(admission: Admission, actor: User | None = None, from_status: str | None = None,
                                       **_: object) -> None:
    """A provider admitted in a municipality for the first time gets a draft agreement with it, in
    the same transaction (a restored admission keeps its agreement)."""
    if from_status == "requested":
        prepare_agreement(admission.provider_id, admission.municipality_id, actor)
