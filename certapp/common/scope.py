"""The municipality scope: the one place where a municipal official's reads are limited to the
rows of their municipality.

Every table a municipality owns carries `municipality_id` through the `MunicipalityOwned` mixin.
While a scope is set (by the access check for a department or bookkeeping official, by a job acting
for one), every ORM SELECT — `session.get`, relationship loads, joins and aggregates included — gets
`municipality_id = <scope>` for each such table in it (SQLAlchemy's `with_loader_criteria`), so a
row of another municipality is simply not there: a 404 on its page, absent from lists and totals.
Every UPDATE and DELETE statement (`update(Model)`, `delete(Model)`, on the ORM class or its Core
table) on such a table gets the same condition in its WHERE, so a bulk write («прочитать все»)
cannot reach another municipality's rows either; a textual UPDATE/DELETE cannot be limited and is
refused inside a scope. A rule that must see or write the whole region (one certificate per child
and period; a worker delivering the one letter it was handed) asks for it with
`.execution_options(all_municipalities=True)` and says why beside it.
"""
import re
from contextlib import contextmanager

from flask import g, has_app_context
from sqlalchemy import ForeignKey, TextClause, event, or_
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, relationship, with_loader_criteria

#: the execution option that lifts the scope for one statement (region-wide rules)
ALL_MUNICIPALITIES = "all_municipalities"


class MunicipalityOwned:
    """Mixin of the tables a municipality owns."""

    @declared_attr
    def municipality_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("municipality.id"), index=True)

    @declared_attr
    def municipality(cls):
        return relationship("Municipality", viewonly=True)


class MunicipalityTagged:
    """Mixin of rows that may belong to a municipality or to nobody in particular (letters,
    notifications, audit events, jobs): in a scope only the municipality's own are seen."""

    @declared_attr
    def municipality_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("municipality.id"), index=True)


#: (entity, factory) for tables scoped otherwise than by their own column: factory(municipality_id)
#: gives the criteria lambda (programs are offered in several municipalities)
_OTHER_CRITERIA: list = []


def register_criteria(entity, factory) -> None:
    _OTHER_CRITERIA.append((entity, factory))


def current_scope() -> int | None:
    """The municipality the current request or job is limited to, or None (the whole region)."""
    return g.get("municipality_scope") if has_app_context() else None


def set_scope(municipality_id: int | None, *, with_untagged: bool = False) -> None:
    """Limit what follows to one municipality (None: the whole region). `with_untagged`: also the rows
    that belong to no municipality in particular (the regional operator, who reads everything)."""
    g.municipality_scope = municipality_id
    g.municipality_scope_untagged = with_untagged


@contextmanager
def scoped(municipality_id: int | None):
    """Run a block limited to one municipality (a job acting for an official), or to none."""
    before = (current_scope(), g.get("municipality_scope_untagged", False))
    set_scope(municipality_id)
    try:
        yield
    finally:
        set_scope(before[0], with_untagged=before[1])


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _write_criteria(table, municipality_id: int):
    """The condition that limits an UPDATE or DELETE of `table` to the scope, or None for a table no
    municipality owns."""
    name = getattr(table, "fullname", None)
    for mixin in (MunicipalityOwned, MunicipalityTagged):
        for model in _subclasses(mixin):
            if getattr(getattr(model, "__table__", None), "fullname", None) != name:
                continue
            if mixin is MunicipalityTagged and g.get("municipality_scope_untagged"):
                return or_(model.municipality_id == municipality_id, model.municipality_id.is_(None))
            return model.municipality_id == municipality_id
    for entity, factory in _OTHER_CRITERIA:
        if entity.__table__.fullname == name:
            return factory(municipality_id)(entity)
    return None


_TEXT_WRITE = re.compile(r"^\s*(UPDATE|DELETE)\b", re.IGNORECASE)


@event.listens_for(Session, "do_orm_execute")
def _limit_to_scope(state) -> None:
    municipality_id = current_scope()
    if municipality_id is None or state.execution_options.get(ALL_MUNICIPALITIES):
        return
    if state.is_update or state.is_delete:
        criteria = _write_criteria(state.statement.table, municipality_id)
        if criteria is not None:
            state.statement = state.statement.where(criteria)
        return
    if isinstance(state.statement, TextClause) and _TEXT_WRITE.match(state.statement.text):
        raise RuntimeError("a textual UPDATE/DELETE cannot be limited to the municipality scope: write it with "
                           "update()/delete(), or mark it all_municipalities=True with the reason")
    if not state.is_select:
        return
    options = _read_criteria(municipality_id, bool(g.get("municipality_scope_untagged")))
    # a relationship or column load carries the criteria its parent was loaded with (propagate_to_loaders):
    # adding them again made each level of loading longer and missed the compiled-statement cache
    if not any(option is options[0] for option in state.statement._with_options):
        state.statement = state.statement.options(*options)


#: the read criteria of each scope, built once: the same option objects let a load see that it already
#: carries them, and the statements compiled with them stay in SQLAlchemy's cache
_READ_OPTIONS: dict[tuple[int, bool, int], tuple] = {}


def _read_criteria(municipality_id: int, untagged: bool) -> tuple:
    key = (municipality_id, untagged, len(_OTHER_CRITERIA))
    if key not in _READ_OPTIONS:
        if untagged:
            tagged = with_loader_criteria(MunicipalityTagged, lambda cls: or_(cls.municipality_id == municipality_id,
                                                                              cls.municipality_id.is_(None)),
                                          include_aliases=True)
        else:
            tagged = with_loader_criteria(MunicipalityTagged, lambda cls: cls.municipality_id == municipality_id,
                                          include_aliases=True)
        _READ_OPTIONS[key] = (
            with_loader_criteria(MunicipalityOwned, lambda cls: cls.municipality_id == municipality_id,
                                 include_aliases=True),
            tagged,
            *(with_loader_criteria(entity, factory(municipality_id), include_aliases=True)
              for entity, factory in _OTHER_CRITERIA),
        )
    return _READ_OPTIONS[key]
