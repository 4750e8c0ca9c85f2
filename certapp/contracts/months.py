"""Months of a contract: splitting a price over months between the certificate and the parent (a month is
parsed by common.months.parse_month)."""
from dataclasses import dataclass
from datetime import date

from certapp.common.months import add_months, first_of_month, months_between


def split_evenly(total: int, parts: int) -> list[int]:
    """Kopeck-exact split: the first months take the remainder kopecks."""
    base, remainder = divmod(total, parts)
    return [base + (1 if i < remainder else 0) for i in range(parts)]


@dataclass(frozen=True)
class MonthShare:
    """One month of a price schedule: its price and what the certificate pays of it."""

    month: date
    price: int
    certificate_amount: int

    @property
    def parent_amount(self) -> int:
        return self.price - self.certificate_amount


def split_schedule(prices: list[tuple[date, int]], available: int) -> tuple[MonthShare, ...]:
    """The one rule of the split: the certificate pays what it can month by month, in month order
    (each month's certificate part at most what is left of the available balance), the parent the rest
    of each month. A month in force on its 1st is paid in full while the money lasts (ПФДО practice)."""
    left, shares = max(0, available), []
    for month, price in sorted(prices):
        part = min(price, left)
        left -= part
        shares.append(MonthShare(month, price, part))
    return tuple(shares)


@dataclass(frozen=True)
class PriceSplit:
    """What a contract would cost from a month to a group's end, and who pays which part."""

    price_per_month: int
    months: list[date]
    total: int
    certificate_part: int
    #: month by month, in month order (split_schedule)
    shares: tuple[MonthShare, ...] = ()

    @property
    def parent_part(self) -> int:
        return self.total - self.certificate_part


def price_split(price_per_month: int, start_month: date, ends_on: date, available: int) -> PriceSplit:
    """The one rule of the offer: the certificate pays up to what is available now, the parent the rest."""
    months = months_between(start_month, ends_on)
    shares = split_schedule([(month, price_per_month) for month in months], available)
    return PriceSplit(price_per_month, months, price_per_month * len(months),
                      sum(s.certificate_amount for s in shares), shares)


def month_is_over(month: date, today: date) -> bool:
    """A month is reported once it is over: from the 1st of the next month (by the order's practice by
    the 5th, deadlines «report»; a late report is still accepted, one before the month's end never)."""
    return add_months(first_of_month(month), 1) <= today


def month_key(contract_id: int, month: date) -> str:
    """The idempotency key of a contract month's movements (the advance, the report's) in the ledger."""
    return f"contract:{contract_id}:month:{month:%Y-%m}"
