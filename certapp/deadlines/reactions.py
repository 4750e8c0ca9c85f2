"""What deadlines do when other features announce a change (certapp.common.events)."""
from certapp.common import events
from certapp.deadlines.services import load_calendar


@events.reference_data_loaded.connect
def calendar_loaded(_subject, **_) -> tuple[str, int]:
    """The production calendar is reference data too: its known years are filled with the rest."""
    return "holidays", load_calendar()
