"""The social order is due by 1 January of its year (plan 4.1): the department is reminded before,
told once when the date passes, and sees it overdue on its home page until an order is approved."""
from datetime import date

from sqlalchemy import select

from certapp.db import db
from certapp.notifications.models import Notification
from certapp.reminders import check_deadlines, overdue
from certapp.reporting import services
from certapp.uow import transaction


def _approve(year: int, department) -> None:
    order = services.create_order(year, department)
    services.approve_order(order.id, department)
    db.session.commit()


def _order_notices(year: int = 2027) -> list[str]:
    """The notices about the social order of the year (the current year's, missing too, is told apart)."""
    return [n.title for n in db.session.execute(select(Notification).where(Notification.kind == "deadline")
                                                .order_by(Notification.id)).scalars()
            if f"социальный заказ на {year} год" in n.title]


def test_the_department_is_reminded_a_month_before_1_january_once(users):
    with transaction():
        check_deadlines(date(2026, 11, 20))          # 42 days before: too early
    assert _order_notices() == []
    with transaction():
        check_deadlines(date(2026, 12, 4))
    with transaction():
        check_deadlines(date(2026, 12, 5))           # the job run again the next day writes nothing twice
    assert _order_notices() == ["Утвердите социальный заказ на 2027 год до 01.01.2027"]
    reminder = db.session.execute(select(Notification).where(Notification.title.like("Утвердите%"))).scalar_one()
    assert reminder.role == "department" and reminder.municipality_id == users["department"].municipality_id


def test_no_reminder_once_the_coming_years_order_is_approved(users):
    _approve(2027, users["department"])
    with transaction():
        check_deadlines(date(2026, 12, 20))
    assert _order_notices() == []


def test_a_missed_order_is_overdue_on_the_home_page_and_told_once(app, login, users):
    assert [o.title for o in overdue(date(2027, 1, 1))] == []      # due that day: not late yet
    late = date(2027, 1, 12)
    assert [o.title for o in overdue(late)] == ["социальный заказ на 2027 год не утверждён (срок — 01.01.2027)"]
    with transaction():
        check_deadlines(late)
    with transaction():
        check_deadlines(late)
    assert _order_notices() == ["Просрочен социальный заказ на 2027 год"]
    app.config["CLOCK_NOW"] = "2027-01-12T10:00:00"
    home = login(users["department"]).get("/").get_data(as_text=True)
    assert "Просрочено" in home and "социальный заказ на 2027 год не утверждён (срок — 01.01.2027)" in home


def test_an_order_approved_late_is_no_longer_overdue(users):
    _approve(2027, users["department"])
    assert overdue(date(2027, 2, 1)) == []
