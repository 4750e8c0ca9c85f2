"""Test data built once per test module and database instead of once per test.

A test on the default app runs inside a savepoint of a transaction that stays open while its module's
tests run (see conftest.app). Data that a fixture declares with `shared_fixture` is built by the real
services once in that module's transaction, before the first test's savepoint; each test gets it
loaded afresh into its own session and whatever the test changes is rolled back with its savepoint,
so every test of the module starts from the same rows. A test with its own configuration or whose
work is committed builds the data itself, as before.
"""
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from certapp.db import db


@dataclass
class ModuleTransaction:
    """One connection of an app, in a transaction rolled back when its module's tests are done."""

    #: the module, and the settings its data was built under
    module: tuple[str, str]
    connection: object
    outer: object
    #: builder -> what it built, as (model, id) pairs or plain values
    built: dict = field(default_factory=dict)
    #: True while the data is being built, before the test's savepoint: builders may run then
    building: bool = False


#: the module transaction the current test runs in (None: the test builds its data itself)
current: ModuleTransaction | None = None

#: the fixture functions declared by shared_fixture -> their getters
BUILDERS: dict[Callable, Callable] = {}
#: each builder -> the builders it called (learnt when it is first built)
DEPENDS: dict[Callable, set] = {}
#: the builders being built, innermost last
_building: list[Callable] = []
#: the same getters by the fixtures' names, for a builder that needs another's data
BY_NAME: dict[str, Callable] = {}


def _remember(value):
    """A built value as what reloads it: model instances by their ids, dicts and lists item by item."""
    if isinstance(value, dict):
        return ("dict", {key: _remember(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_remember(item) for item in value])
    if isinstance(value, db.Model):
        db.session.flush()
        return ("model", (type(value), value.id))
    return ("value", value)


def _models(recipe, found: dict) -> dict:
    """{model: ids} of the instances a recipe names."""
    kind, value = recipe
    if kind == "dict":
        for item in value.values():
            _models(item, found)
    elif kind in ("list", "tuple"):
        for item in value:
            _models(item, found)
    elif kind == "model":
        found.setdefault(value[0], set()).add(value[1])
    return found


def _load(recipe):
    """The built value again, its instances read in one query per model (then from the identity map)."""
    for model, ids in _models(recipe, {}).items():
        db.session.execute(select(model).where(model.id.in_(ids))).scalars().all()
    return _loaded(recipe)


def _loaded(recipe):
    kind, value = recipe
    if kind == "dict":
        return {key: _loaded(item) for key, item in value.items()}
    if kind in ("list", "tuple"):
        items = [_loaded(item) for item in value]
        return items if kind == "list" else tuple(items)
    if kind == "model":
        model, ident = value
        return db.session.get(model, ident)
    return value


def once(build: Callable) -> Callable:
    """`build()` once per module and database when the test runs in a module transaction, its result
    reloaded for each test; called in the test otherwise (or when it was not built before the test's
    savepoint)."""
    def get():
        if current is None:
            return build()
        if build not in current.built:
            if not current.building:
                return build()
            if _building:
                DEPENDS.setdefault(_building[-1], set()).add(build)
            _building.append(build)
            try:
                current.built[build] = _remember(build())
            finally:
                _building.pop()
            DEPENDS.setdefault(build, set())
            db.session.commit()  # into the module's transaction: the session joined it by a savepoint
        if _building:
            DEPENDS.setdefault(_building[-1], set()).add(build)
        return _load(current.built[build])
    get.build = build  # type: ignore[attr-defined]
    return get


def shared_fixture(build: Callable):
    """A fixture whose value `build()` makes once per module and database (see the module's doc).
    `build` takes no argument; data of another shared fixture comes from calling that one's getter."""
    getter = once(build)

    def fixture(app):
        return getter()
    fixture.__name__ = build.__name__.lstrip("_")
    fixture.__doc__ = build.__doc__
    BUILDERS[fixture] = BY_NAME[fixture.__name__] = getter
    return pytest.fixture(name=fixture.__name__)(fixture)


def _getters(request) -> list[Callable]:
    """The getters of the shared fixtures the test uses."""
    # the fixtures the test uses, by their definitions (pytest has no public API for this)
    definitions = request.node._fixtureinfo.name2fixturedefs.values()
    return [BUILDERS[defs[-1].func] for defs in definitions if defs and defs[-1].func in BUILDERS]


def holds_more_than_used(held: ModuleTransaction, request) -> bool:
    """Whether the module transaction holds shared data that the test does not use (built for an
    earlier test of the module): such a test starts in a fresh module transaction, so that each test
    sees exactly the shared rows it asks for. A builder not built yet, whose calls are not known yet,
    counts as using nothing else."""
    wanted = [getter.build for getter in _getters(request)]  # type: ignore[attr-defined]
    used: set = set()
    while wanted:
        build = wanted.pop()
        if build not in used:
            used.add(build)
            wanted.extend(DEPENDS.get(build, ()))
    return not set(held.built) <= used


def build_for(request) -> None:
    """Build, in the module transaction, the shared data of every shared fixture the test uses."""
    if current is None:
        return
    getters = _getters(request)
    if not getters:
        return
    current.building = True
    try:
        for getter in getters:
            getter()
    finally:
        current.building = False
        db.session.remove()
