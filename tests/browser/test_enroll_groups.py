"""The enrollment form names each group with its school year, dates and free seats, and its months
follow the chosen group (static/js/app.js, data-refresh)."""
from datetime import timedelta

from tests import factories
from tests.browser.journeys import login, staff_user

MONTHS = "() => Array.from(document.querySelectorAll('#start_month option')).map(o => o.value)"


def test_the_groups_are_told_apart_and_the_months_follow_the_chosen_one(page, live_server, watch, viewport):
    email = f"groups-{viewport}@example.ru"

    def world():
        from certapp.certificates import services as certificates
        from certapp.common.months import add_months, first_of_month
        from certapp.db import db
        from certapp.programs.models import StudyGroup

        parent = staff_user("parent", email)
        department = factories.make_user("department")
        provider, _ = factories.make_provider(department=department)
        program = factories.make_program(provider, department, capacity=12)
        first = program.groups[0]
        # the same group again, starting five months later and ending sooner: other months
        later = first_of_month(add_months(first.starts_on, 5))
        db.session.add(StudyGroup(program_id=program.id, name=first.name, teacher=first.teacher,
                                  schedule=first.schedule, starts_on=later,
                                  ends_on=first.ends_on - timedelta(days=60), capacity=5))
        child = certificates.add_child(parent, factories.child_data())
        application = certificates.apply(parent, child.id, factories.current_period().id, True)
        certificates.confirm(application.id, department)
        db.session.flush()
        return program.id, factories.current_period().name

    program_id, period_name = live_server.run(world)
    login(page, watch, live_server.url, email)
    page.goto(f"{live_server.url}/enroll/{program_id}")
    watch.check()
    labels = [o.strip() for o in page.eval_on_selector_all("#group_id option", "os => os.map(o => o.textContent)")]
    assert len(labels) == 2 and len(set(labels)) == 2
    assert all(f"Группа 1, вт, чт 15:00 — {period_name}, " in label for label in labels)
    assert labels[0].endswith("свободно 12 мест из 12") and labels[1].endswith("свободно 5 мест из 5")
    first_months = page.evaluate(MONTHS)
    # choosing the other group recomputes the page: its months, no press of «Показать расчёт»
    with page.expect_navigation():
        page.select_option("#group_id", label=labels[1])
    watch.check()
    later_months = page.evaluate(MONTHS)
    assert later_months and later_months != first_months and set(later_months) < set(first_months)
    assert page.eval_on_selector("#start_month", "s => s.value") == later_months[0]
    assert page.eval_on_selector("#group_id option:checked", "o => o.textContent").strip() == labels[1]
