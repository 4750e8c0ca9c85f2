"""A restore without the key files refuses to start instead of serving with new, empty keys."""
import pytest

from certapp.db import db
from certapp.startup import key_problems, refuse_to_start_without_keys
from tests import factories


def test_keys_of_the_installation_match_its_data(app):
    factories.make_certificate()
    db.session.commit()
    assert key_problems() == []
    result = app.test_cli_runner().invoke(args=["keys", "check"])
    assert result.exit_code == 0 and "соответствуют" in result.output


def test_an_empty_key_directory_is_refused_with_a_clear_message(app, tmp_path):
    factories.make_certificate()
    db.session.commit()
    app.config["KEYS_DIR"] = str(tmp_path / "empty-keys")
    problems = key_problems()
    assert any("certificate: документы подписаны ключом" in p for p in problems)
    assert any("зашифрованные СНИЛС" in p for p in problems)
    assert not (tmp_path / "empty-keys" / "pd-hmac.key").exists()  # the check created no key
    db.session.rollback()  # the check below runs in an app context (and a connection) of its own
    with pytest.raises(SystemExit) as stopped:
        refuse_to_start_without_keys(app)
    assert "certapp не запущен: ключи не соответствуют базе данных" in str(stopped.value)
    result = app.test_cli_runner().invoke(args=["keys", "check"])
    assert result.exit_code == 1


def test_keys_of_another_installation_are_refused(app, tmp_path):
    factories.make_certificate()
    db.session.commit()
    original = app.config["KEYS_DIR"]
    app.config["KEYS_DIR"] = str(tmp_path / "other")
    from certapp.certificates import personal_data
    from certapp.documents.keys import key_store

    key_store().ensure()
    personal_data.snils_key("112-233-445 95")  # creates the other installation's personal-data keys
    personal_data.encrypt_snils("112-233-445 95")
    problems = key_problems()
    assert any("не подходят к зашифрованным СНИЛС" in p for p in problems)
    app.config["KEYS_DIR"] = original
    assert key_problems() == []


def test_a_fresh_database_starts_with_fresh_keys(app, tmp_path):
    app.config["KEYS_DIR"] = str(tmp_path / "new")
    assert key_problems() == []


def test_an_unmigrated_database_is_refused_with_a_clear_message(tmp_path):
    from tests.conftest import make_app

    empty = make_app("sqlite:///" + str(tmp_path / "empty.sqlite"), KEYS_DIR=str(tmp_path / "keys"))
    with pytest.raises(SystemExit, match="выполните flask --app wsgi db upgrade"):
        refuse_to_start_without_keys(empty)
    with empty.app_context():
        db.engine.dispose()
