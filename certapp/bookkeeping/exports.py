"""Rows of the bookkeeping exports, shared by the pages, the API and the CLI."""
from collections.abc import Iterable, Iterator

from sqlalchemy import Row

from certapp.bookkeeping.models import PaymentRegister
from certapp.bookkeeping.reconciliation import Reconciliation, StoredReconciliation
from certapp.common.exports import Money

RECONCILIATION_PROVIDER_HEADERS = ["Исполнитель", "Списано, ₽", "Оплачено, ₽", "Утверждено к оплате, ₽",
                                   "К оплате (не в утверждённых реестрах), ₽", "Расхождение, ₽"]
RECONCILIATION_CERTIFICATE_HEADERS = ["Сертификат", "Номинал, ₽", "Доступно, ₽", "Зарезервировано, ₽", "Списано, ₽",
                                      "Сгорело, ₽"]
REGISTER_HEADERS = ["Сертификат", "Ребёнок", "Программа", "Месяц", "Сумма, ₽"]


def provider_rows(reconciliation: Reconciliation | StoredReconciliation) -> list[list[object]]:
    return [[p.name, Money(p.spent), Money(p.paid), Money(p.approved), Money(p.payable), Money(p.mismatch)]
            for p in reconciliation.providers]


def certificate_rows(lines: Iterable[Row[str, int, int, int, int, int]]) -> Iterator[list[object]]:
    """The per-certificate lines (a generator over a server-side cursor stays one)."""
    return ([c.number, Money(c.nominal), Money(c.available), Money(c.reserved), Money(c.spent), Money(c.expired)]
            for c in lines)


def register_rows(register: PaymentRegister) -> list[list[object]]:
    return [[line.certificate_number, line.child_initials, line.program_title, line.month.strftime("%m.%Y"),
             Money(line.amount)] for line in register.lines]


def reconciliation_sheets(reconciliation: Reconciliation | StoredReconciliation
                          ) -> list[tuple[str, list[str], list[list[object]], tuple[int, ...]]]:
    """The summary's workbook: the providers (the per-certificate lines are a streamed CSV of their own)."""
    return [("По исполнителям", RECONCILIATION_PROVIDER_HEADERS, provider_rows(reconciliation), (1, 2, 3, 4, 5))]
