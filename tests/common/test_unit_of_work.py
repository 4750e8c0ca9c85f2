"""One unit of work per request, per command and per job step (certapp.uow): what commits and what does not."""
import re
from pathlib import Path

import pytest
from flask import redirect
from sqlalchemy import select

from certapp.accounts.access import public
from certapp.common.errors import ValidationError
from certapp.db import db
from certapp.jobs.models import Job
from certapp.jobs.services import Progress, after_commit
from certapp.uow import keep, refuse, unit_of_work

PACKAGE = Path(__file__).resolve().parents[2] / "certapp"

#: what the test views' after-commit side effect saw
SENT: list[str] = []


def _job(title: str) -> Job:
    """A row written by a view (a job record: no rule around it), with a side effect after the commit."""
    record = Job(kind="test", title=title)
    db.session.add(record)
    db.session.flush()
    after_commit(SENT.append, title)
    return record


def _titles() -> list[str]:
    db.session.rollback()
    return list(db.session.execute(select(Job.title).order_by(Job.id)).scalars())


@pytest.fixture
def views(app):
    """Views that write a row and end in each way a handler can, added to the app of this file's
    configuration (PROPAGATE_EXCEPTIONS=False: built for these tests, once per process) before its
    first request."""
    SENT.clear()
    if "ok" in app.view_functions:
        return app

    @app.route("/test/ok", methods=["POST"])
    @public
    def ok():
        _job("ok")
        return "готово"

    @app.route("/test/exception", methods=["POST"])
    @public
    def exception():
        _job("exception")
        raise RuntimeError("a bug after the write")

    @app.route("/test/error-answer", methods=["POST"])
    @public
    def error_answer():
        _job("error-answer")
        return "неверно", 422

    @app.route("/test/refused", methods=["POST"])
    @public
    def refused():
        _job("refused before")
        try:
            raise ValidationError("Неверно.", field="title")
        except ValidationError as error:
            refuse(error)
        _job("refused after")  # a doomed unit keeps nothing, whatever comes after the refusal
        return redirect("/test/ok", 303)

    @app.route("/test/kept", methods=["POST"])
    @public
    def kept():
        _job("kept")
        keep()
        return "отказано, отказ записан", 422

    @app.route("/test/failing-commit", methods=["POST"])
    @public
    def failing_commit():
        _job("failing-commit")
        # two letters with one Message-ID: the INSERTs run at the commit, which fails
        from certapp.mail.models import OutboxMessage
        for _ in range(2):
            db.session.add(OutboxMessage(to_address="a@b.ru", subject="s", text_body="t", message_id="<same@test>"))
        return "готово"

    return app


@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_a_request_that_ends_normally_commits_once_and_then_sends_its_side_effects(views):
    response = views.test_client().post("/test/ok")
    assert response.status_code == 200
    assert _titles() == ["ok"] and SENT == ["ok"]


@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_a_request_that_raises_rolls_back(views):
    assert views.test_client().post("/test/exception").status_code == 500
    assert _titles() == [] and SENT == []


@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_a_request_answered_with_a_4xx_rolls_back(views):
    assert views.test_client().post("/test/error-answer").status_code == 422
    assert _titles() == [] and SENT == []


@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_a_refusal_shown_with_a_redirect_changes_nothing(views):
    response = views.test_client().post("/test/refused")
    assert response.status_code == 303
    assert _titles() == [] and SENT == []


@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_a_kept_refusal_commits_although_the_answer_is_an_error(views):
    assert views.test_client().post("/test/kept").status_code == 422
    assert _titles() == ["kept"] and SENT == ["kept"]


@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_a_commit_that_fails_is_an_error_answer_not_a_success(views):
    response = views.test_client().post("/test/failing-commit")
    assert response.status_code == 500
    assert "готово" not in response.get_data(as_text=True)
    assert _titles() == [] and SENT == []


def test_a_unit_of_work_commits_on_a_normal_end_and_rolls_back_on_an_error(app):
    SENT.clear()
    with unit_of_work():
        _job("command")
    with pytest.raises(RuntimeError), unit_of_work():
        _job("failed command")
        raise RuntimeError("stop")
    assert _titles() == ["command"] and SENT == ["command"]


def test_a_progress_bar_inside_a_step_does_not_commit_the_steps_work(app):
    record = Job(kind="test", title="Задание")
    db.session.add(record)
    db.session.commit()
    with Progress(record.id, None) as progress, pytest.raises(RuntimeError), unit_of_work():
        _job("step")
        progress.set_total(5)  # told to the pages at once (PostgreSQL) or with the step (SQLite)
        raise RuntimeError("the step fails")
    assert "step" not in _titles()


def _package_files():
    return sorted(PACKAGE.rglob("*.py"))


def test_only_the_unit_of_work_commits():
    """commit() is called in certapp/uow.py only (the migrations' and tests' own sessions aside)."""
    callers = [f"{path.relative_to(PACKAGE)}:{n}" for path in _package_files() if path.name != "uow.py"
               for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if re.search(r"\.commit\(\)", line.split("#")[0])]
    assert callers == []


def test_no_handler_opens_a_transaction_of_its_own():
    """Views and API endpoints run in the request's unit: no transaction(), unit_of_work() or
    persist-on-error refusal of their own."""
    handlers = [path for path in _package_files() if path.name in ("views.py", "api.py")]
    assert len(handlers) > 20
    found = [f"{path.relative_to(PACKAGE)}:{n}" for path in handlers
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"\btransaction\(|\bunit_of_work\(|\bseparate_unit\(|\.commit\(", line)]
    assert found == []
    persisting = [str(path.relative_to(PACKAGE)) for path in _package_files()
                  if re.search(r"\bpersist\s*=", path.read_text(encoding="utf-8"))]
    assert persisting == []
