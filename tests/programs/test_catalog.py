"""The catalog in front of a parent: the next start still ahead, invalid filters answered in Russian,
parents' ratings, and the search stemming Russian words on SQLite too (migration 0035)."""
from datetime import date

import pytest
from sqlalchemy import event, select, text

from certapp.db import db
from certapp.programs import services as programs
from certapp.programs.models import Program
from certapp.reporting.models import Feedback
from tests.factories import listed_total, make_certificate, make_contract, make_program, make_provider


@pytest.fixture
def provider_user(users):
    user, _ = make_provider(users["provider"], users["department"])
    db.session.commit()
    return user


def _group(user, program, starts_on, ends_on=date(2027, 5, 31), name="Группа"):
    programs.save_group(user, program.id, {"name": name, "teacher": "Иванов И. И.", "schedule": "сб 10:00",
                                           "starts_on": starts_on, "ends_on": ends_on, "capacity": 10})


@pytest.mark.app_config(CLOCK_NOW="2026-12-04T12:00:00")
def test_a_card_shows_the_next_start_still_ahead_or_says_the_groups_are_running(client, users, provider_user):
    both = make_program(provider_user, users["department"], title="Шахматы", groups=0, publish=False)
    _group(provider_user, both, date(2026, 9, 1), name="Осенняя")
    _group(provider_user, both, date(2027, 1, 10), name="Зимняя")
    running = make_program(provider_user, users["department"], title="Футбол", direction="sport", groups=0,
                           publish=False)
    _group(provider_user, running, date(2026, 9, 1))
    for program in (both, running):
        programs.submit_program(program.id, provider_user)
        programs.decide_program(program.id, "published", users["department"])
    db.session.commit()
    chess = client.get("/catalog?q=Шахматы").get_data(as_text=True)
    assert "Ближайшее начало: <strong>10.01.2027</strong>" in chess and "01.09.2026" not in chess
    football = client.get("/catalog?q=Футбол").get_data(as_text=True)
    assert "Ближайшее начало" not in football and "Группы уже занимаются (с 01.09.2026)" in football


def test_invalid_filters_get_a_russian_message_beside_each_and_the_catalog_still_lists(client, users,
                                                                                        provider_user):
    make_program(provider_user, users["department"])
    db.session.commit()
    page = client.get("/catalog", query_string={"direction": "magic", "age": "abc", "municipality": "99999999",
                                                "provider": "x"})
    body = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "Такой направленности нет: выберите из списка." in body
    assert "Возраст — целое число от 5 до 17." in body
    assert "Такого муниципалитета нет: выберите из списка." in body
    assert "Такого исполнителя нет: выберите из списка." in body
    assert "Робототехника для начинающих" in body and 'aria-invalid="true"' in body
    assert client.get("/catalog?age=42").status_code == 422
    good = client.get("/catalog?direction=technical&age=8")
    assert good.status_code == 200 and "Робототехника для начинающих" in good.get_data(as_text=True)
    # the API refuses an unknown municipality with the field named
    answer = client.get("/api/v1/programs/catalog?municipality=99999999")
    assert answer.status_code == 422 and "municipality" in answer.get_data(as_text=True)
    assert listed_total(client.get("/api/v1/programs/catalog?municipality=all")) == 1


@pytest.mark.parametrize(("name", "value"), [("age", "9" * 5000), ("age", "²"),
                                           ("provider", "9" * 5000), ("provider", "9" * 25)])
def test_a_filter_int_cannot_parse_is_a_russian_422_not_a_500(client, users, provider_user, name, value):
    make_program(provider_user, users["department"])
    db.session.commit()
    page = client.get("/catalog", query_string={name: value})
    assert page.status_code == 422 and "Робототехника для начинающих" in page.get_data(as_text=True)


def test_a_filter_in_other_digits_is_that_number(client, users, provider_user):
    make_program(provider_user, users["department"])
    db.session.commit()
    page = client.get("/catalog", query_string={"age": "٨", "direction": "technical"})
    assert page.status_code == 200 and "Робототехника для начинающих" in page.get_data(as_text=True)


def test_ratings_show_on_cards_the_program_page_and_the_api_in_one_query(app, client, api, users, provider_user):
    rated = make_program(provider_user, users["department"], title="Шахматы")
    make_program(provider_user, users["department"], title="Футбол", direction="sport")
    make_program(provider_user, users["department"], title="Лепка", direction="natural_science")
    certificate = make_certificate(users["parent"], users["department"])
    contract = make_contract(certificate, provider_user, rated)
    for month, rating in ((date(2026, 9, 1), 5), (date(2026, 10, 1), 4)):
        db.session.add(Feedback(contract_id=contract.id, month=month, parent_id=users["parent"].id, rating=rating,
                                municipality_id=contract.municipality_id))
    db.session.commit()

    statements = []
    def count(conn, cursor, statement, *args):
        if "feedback" in statement.lower():
            statements.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        page = client.get("/catalog").get_data(as_text=True)
        assert len(statements) == 1  # one grouped query for the page, not one per card
        statements.clear()
        items = {p["title"]: p for p in api().get("/api/v1/programs/catalog").json}
        assert len(statements) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert "Оценка родителей: <strong>4,5</strong> из 5 · 2 оценки" in page and "Оценок пока нет" in page
    assert (items["Шахматы"]["rating_average"], items["Шахматы"]["rating_count"]) == (4.5, 2)
    assert (items["Футбол"]["rating_average"], items["Футбол"]["rating_count"]) == (None, 0)
    assert "<strong>4,5</strong> из 5 · 2 оценки" in client.get(f"/catalog/{rated.id}").get_data(as_text=True)
    assert api().get(f"/api/v1/programs/{rated.id}").json["rating_count"] == 2


@pytest.mark.commits  # migrations change the schema
def test_the_search_index_is_stemmed_after_the_migration_on_a_database_that_holds_programs(app, api, users,
                                                                                          provider_user):
    from flask_migrate import downgrade, upgrade
    make_program(provider_user, users["department"], title="Роботы и дроны", description="Собираем и летаем.")
    db.session.commit()

    def titles(query):
        return [p["title"] for p in api().get("/api/v1/programs/catalog", query_string={"q": query}).json]
    sqlite = db.engine.dialect.name == "sqlite"
    db.session.remove()
    downgrade(revision="0027_official_lists")
    if sqlite:  # 0023's index held the words as written: a stem typed with its ending found nothing
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM program_search WHERE program_search MATCH "
                                     "'\"роботами\"*'")).scalar() == 0
    upgrade()
    assert titles("роботами") == ["Роботы и дроны"] and titles("дрон") == ["Роботы и дроны"]
    assert titles("летать") == ["Роботы и дроны"] and titles("самолёты") == []
    if sqlite:
        assert db.session.execute(text("SELECT title FROM program_search")).scalar() == "робот и дрон"
    program = db.session.execute(select(Program).where(Program.title == "Роботы и дроны")).scalar_one()
    program.title = "Квадрокоптеры"
    db.session.commit()
    assert titles("квадрокоптерами") == ["Квадрокоптеры"] and titles("роботы") == []
