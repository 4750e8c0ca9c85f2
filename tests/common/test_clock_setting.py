"""CERTAPP_CLOCK_NOW fixes the rules' day for a server started with it (a demonstration of another day)."""
from datetime import date

import pytest


def test_the_clock_is_read_from_the_environment(monkeypatch, tmp_path):
    from certapp.config import load_config

    monkeypatch.delenv("CERTAPP_CLOCK_NOW", raising=False)
    assert "CLOCK_NOW" not in load_config(str(tmp_path))
    monkeypatch.setenv("CERTAPP_CLOCK_NOW", " 2027-01-03 ")
    assert load_config(str(tmp_path))["CLOCK_NOW"] == "2027-01-03"


def test_the_environment_clock_moves_the_rules_day(monkeypatch, tmp_path):
    from flask import Flask

    from certapp.common import clock
    from certapp.config import load_config

    monkeypatch.setenv("CERTAPP_CLOCK_NOW", "2027-01-03")
    app = Flask(__name__)
    app.config.update(load_config(str(tmp_path)))
    with app.app_context():
        assert clock.today() == date(2027, 1, 3)


@pytest.mark.parametrize("value", ["03.01.2027", "завтра", "2027-13-01"])
def test_a_wrong_clock_stops_the_start(monkeypatch, tmp_path, value):
    from certapp.config import load_config

    monkeypatch.setenv("CERTAPP_CLOCK_NOW", value)
    with pytest.raises(ValueError, match="CERTAPP_CLOCK_NOW"):
        load_config(str(tmp_path))
