import pytest

from certapp.db import db
from tests.factories import make_certificate, make_program, make_provider


@pytest.fixture
def setup(users):
    """A provider in the registry with a published program (one group of 10 seats), and a parent's certificate."""
    provider_user, provider = make_provider(users["provider"], users["department"])
    program = make_program(provider_user, users["department"])
    certificate = make_certificate(users["parent"], users["department"])
    db.session.commit()
    return {"provider": provider_user, "program": program, "group": program.groups[0], "certificate": certificate,
            "parent": users["parent"], "department": users["department"]}
