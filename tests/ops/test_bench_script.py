"""scripts/bench_contracts.py on a regional database: the municipality is chosen by its ОКТМО (an
installation with several refuses to guess), and each run's children get СНИЛС no child has yet."""
import importlib.util
from pathlib import Path

import pytest

from certapp.certificates import services as certificates
from certapp.common.validators import is_valid_snils
from certapp.db import db
from certapp.reference.services import create_municipality, get_district
from tests.factories import child_data, make_user, snils

_SPEC = importlib.util.spec_from_file_location(
    "bench_contracts", Path(__file__).resolve().parents[2] / "scripts" / "bench_contracts.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


class _Numbers:
    """A stand-in for the random source: hands out the given bodies in order."""

    def __init__(self, *bodies):
        self.bodies = list(bodies)

    def sample(self, population, k):
        taken, self.bodies = self.bodies[:k], self.bodies[k:]
        return taken


def test_with_several_municipalities_the_bench_asks_which_and_takes_the_named_one(app):
    assert bench.choose_municipality(None).id == get_district().id   # the only one: no need to name it
    second = create_municipality(name="Курагинский район", oktmo="04630000", number_code="30")
    with pytest.raises(SystemExit, match="--municipality") as refused:
        bench.choose_municipality(None)
    assert "04630000" in str(refused.value) and get_district().oktmo in str(refused.value)
    assert bench.choose_municipality("04630000").id == second.id


def test_the_bench_gives_each_child_a_valid_snils_no_child_has_yet(app):
    certificates.add_child(make_user("parent"), child_data(snils=snils(123_456_789)))
    db.session.flush()
    chosen = bench.fresh_snils(2, rng=_Numbers(123_456_789, 223_456_789, 323_456_789))
    assert chosen == [snils(223_456_789), snils(323_456_789)]
    assert all(is_valid_snils(value) for value in bench.fresh_snils(50))
    assert len(set(bench.fresh_snils(50))) == 50
