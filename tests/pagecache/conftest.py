"""The page cache tests' program with one seat, and the taking of that seat (test_page_cache, test_edge)."""
import pytest

from certapp.db import db
from tests.factories import make_certificate, make_contract, make_program, make_provider


@pytest.fixture
def program(users):
    """A published program with one group of one seat."""
    provider_user, _ = make_provider(users["provider"], users["department"])
    program = make_program(provider_user, users["department"], title="Шахматы для всех", capacity=1)
    db.session.commit()
    return program


@pytest.fixture
def take_the_seat(users, program):
    """Takes the program's one seat (a parent's contract, not yet signed), committed: call it when the test
    wants the seat gone."""
    def take() -> None:
        make_contract(make_certificate(users["parent"], users["department"]), users["provider"], program, sign=False)
        db.session.commit()
    return take
