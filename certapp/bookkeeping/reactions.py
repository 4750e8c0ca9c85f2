"""What bookkeeping does when other features announce a change (certapp.common.events)."""
from certapp.bookkeeping.services import prepare_agreement
from certapp.common.events import subscribe


@subscribe("registry_entry.created")
def agreement_for_a_new_provider(entry, actor=None, **_):
    """A provider entering the registry gets a draft agreement, in the same transaction."""
    prepare_agreement(entry.provider, actor)
