"""Counts by registry number of the service (Приложение 1 к 458-п and the adapted programs' numbers), for
the execution report and the indicators: kept apart from their tables, which change on their own."""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, distinct, func, select

from certapp.common.months import quarter_months
from certapp.contracts.models import Contract, ContractMonth
from certapp.db import db
from certapp.ledger.models import LedgerEntry
from certapp.programs.models import Program
from certapp.reference.models import ServiceCode
from certapp.reference.service_scope import financed_codes, list_service_codes
from certapp.reference.services import own_municipality_id

#: a program belongs to the registry number of its direction and its «адаптированная» mark
_PROGRAM_CODE = and_(ServiceCode.direction_id == Program.direction_id, ServiceCode.adapted == Program.adapted)


@dataclass
class ServiceCodeCount:
    registry_number: str
    direction: str
    adapted: bool
    #: the municipality's order finances this number
    financed: bool
    #: children served: a contract month delivered in the span
    children: int
    #: kopecks spent from certificates in the span
    money: int


def counts_by_service_code(start: date, end: date, municipality_id: int | None = None) -> list[ServiceCodeCount]:
    """Children served and money spent per registry number between `start` and `end` (the caller's
    municipality by the scope), every number the order finances or that has figures, in two queries."""
    children = dict(db.session.execute(
        select(ServiceCode.id, func.count(distinct(Contract.child_id))).select_from(ContractMonth)
        .join(Contract, Contract.id == ContractMonth.contract_id).join(Program, Program.id == Contract.program_id)
        .join(ServiceCode, _PROGRAM_CODE)
        .where(ContractMonth.status == "delivered", ContractMonth.month.between(start, end))
        .group_by(ServiceCode.id)).all())
    money = dict(db.session.execute(
        select(ServiceCode.id, func.coalesce(func.sum(LedgerEntry.d_spent), 0)).select_from(LedgerEntry)
        .join(Contract, Contract.id == LedgerEntry.contract_id).join(Program, Program.id == Contract.program_id)
        .join(ServiceCode, _PROGRAM_CODE)
        .where(LedgerEntry.d_spent != 0, LedgerEntry.month.between(start, end))
        .group_by(ServiceCode.id)).all())
    financed = {code.id for code in financed_codes(municipality_id or own_municipality_id())}
    return [ServiceCodeCount(code.registry_number, code.direction.name, code.adapted, code.id in financed,
                             children.get(code.id, 0), int(money.get(code.id, 0)))
            for code in list_service_codes() if code.id in financed or code.id in children or code.id in money]


def execution_by_service_code(year: int, quarter: int | None = None) -> list[ServiceCodeCount]:
    """The execution report's span, counted by registry number."""
    start, end = quarter_months(year, quarter)
    return counts_by_service_code(start, end)


def indicators_by_service_code(year: int) -> list[ServiceCodeCount]:
    """The indicators' year, counted by registry number (children served, money)."""
    return counts_by_service_code(date(year, 1, 1), date(year, 12, 31))
