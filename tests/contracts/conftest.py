from certapp.db import db
from tests.factories import make_certificate, make_program, make_provider
from tests.shared import BY_NAME, shared_fixture


def _setup():
    """A provider in the registry with a published program (one group of 10 seats), and a parent's
    certificate (built once per module: tests/shared.py)."""
    accounts = BY_NAME["users"]()
    provider_user, provider = make_provider(accounts["provider"], accounts["department"])
    program = make_program(provider_user, accounts["department"])
    certificate = make_certificate(accounts["parent"], accounts["department"])
    db.session.commit()
    return {"provider": provider_user, "program": program, "group": program.groups[0], "certificate": certificate,
            "parent": accounts["parent"], "department": accounts["department"]}


setup = shared_fixture(_setup)
