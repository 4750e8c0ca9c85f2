"""The contracts' periodic work."""
from certapp.contracts.services import lapse_offers
from certapp.db import transaction
from certapp.jobs import crontab, periodic


@periodic(crontab(minute="30", hour="0"))
def lapse_unsigned_offers() -> int:
    """Every night: offers past their signing deadline lapse (in batches, each its own transaction)."""
    total = 0
    while True:
        with transaction():
            lapsed = lapse_offers()
        total += lapsed
        if lapsed < 500:
            return total
