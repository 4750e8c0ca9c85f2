"""The log hides a СНИЛС where it appears (its formatted shape, 11 digits with a right control number, a
field named like «snils»), and leaves other numbers alone: a request id with 11 digits in a row stays
whole (masking every run of 11 digits mangled about 2 % of the request lines)."""
import io
import json
import logging

import pytest

from certapp.observability import JSONFormatter, MaskingFilter, TextFormatter

SNILS = "11223344595"            # a valid СНИЛС (control number 95)
FORMATTED = "112-233-445 95"
REQUEST_ID = f"lb-{SNILS}-77"    # a balancer's request id that holds the same 11 digits


@pytest.fixture(params=["text", "json"])
def log_output(request):
    """The request log, through the masking filter and the production formatter, into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(JSONFormatter() if request.param == "json"
                         else TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("certapp")
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_request_id_with_eleven_digits_in_a_row_stays_whole(client, log_output):
    response = client.get("/healthz", headers={"X-Request-ID": REQUEST_ID})
    assert response.headers["X-Request-ID"] == REQUEST_ID
    line = [line for line in log_output.getvalue().splitlines() if "/healthz" in line][-1]
    assert REQUEST_ID in line and "***" not in line


def test_a_snils_never_reaches_the_log(app, log_output):
    logger = logging.getLogger("certapp.test")
    logger.warning("child %s and %s", SNILS, FORMATTED, extra={"fields": {"snils": "99999999999", "note": SNILS}})
    try:
        raise ValueError(f"duplicate key (snils)=({SNILS})")
    except ValueError:
        logger.exception("could not save")
    text = log_output.getvalue()
    for secret in (SNILS, FORMATTED, "99999999999"):
        assert secret not in text
    assert text.count("***********") >= 4 and "***-***-*** **" in text


def test_other_numbers_of_eleven_digits_stay_readable(app, log_output):
    logging.getLogger("certapp.test").warning("order 12345678901 of phone 79131234567")
    text = log_output.getvalue()
    assert "order 12345678901 of phone 79131234567" in (json.loads(text)["message"] if text.startswith("{") else text)
