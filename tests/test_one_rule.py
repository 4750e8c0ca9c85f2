"""A field's rule is written once, in its service (certapp.common.validators for texts and reasons): the page's
form only parses types and the API's schema only documents them, so the page and the API refuse the same
input with the same message beside the same field."""
import importlib
import pkgutil

import pytest
from wtforms.validators import DataRequired, EqualTo, InputRequired, Optional

import certapp
from certapp.common.forms import BaseForm
from certapp.common.validators import REASON_MAX
from certapp.db import db
from certapp.programs.models import Program
from tests.factories import make_program, make_provider

#: what a form may still check itself: presence (also the `required` attribute a browser shows) and
#: the repeated password, which only a page asks for
PAGE_ONLY = (DataRequired, InputRequired, Optional, EqualTo)


def _forms() -> list[type[BaseForm]]:
    for module in pkgutil.walk_packages(certapp.__path__, "certapp."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)
    found, todo = [], list(BaseForm.__subclasses__())
    while todo:
        form = todo.pop()
        found.append(form)
        todo.extend(form.__subclasses__())
    return found


def test_no_form_restates_a_services_rule():
    restated = []
    for form in _forms():
        for name in dir(form):
            unbound = getattr(form, name)
            for validator in getattr(unbound, "kwargs", {}).get("validators") or ():
                if not isinstance(validator, PAGE_ONLY):
                    restated.append(f"{form.__module__}.{form.__name__}.{name}: {type(validator).__name__}")
    assert len(_forms()) > 30
    assert restated == [], "a form checks a rule its service owns: " + ", ".join(restated)


@pytest.fixture
def published(users):
    provider, _ = make_provider(users["provider"], users["department"])
    program = make_program(provider, users["department"])
    db.session.commit()
    return program


@pytest.mark.parametrize("length, refused", [(REASON_MAX, False), (REASON_MAX + 1, True)])
def test_a_reason_too_long_is_refused_alike_by_the_page_and_the_api(login, api, users, published, length, refused):
    message = f"Текст длиннее {REASON_MAX} символов (сейчас {length}): сократите его."
    reason = "я" * length
    answer = api(users["department"]).post(f"/api/v1/programs/{published.id}/decision",
                                           json={"decision": "unpublished", "reason": reason})
    page = login(users["department"]).post(f"/programs/{published.id}/decide",
                                           data={"decision": "unpublished", "reason": reason})
    if refused:
        assert answer.status_code == 422 and answer.json["errors"]["json"]["reason"] == [message]
        text = page.get_data(as_text=True)
        assert page.status_code == 422 and message in text and 'aria-invalid="true"' in text
        assert db.session.get(Program, published.id).status == "published"  # nothing changed, never cut
    else:
        assert answer.status_code == 200, answer.json
        assert db.session.get(Program, published.id).remarks == reason


def test_a_hostile_reason_is_refused_or_shown_as_text(login, api, users, published):
    """10^5 characters are refused like 2 001, never cut; HTML in a reason is kept as typed and shown as text."""
    huge = api(users["department"]).post(f"/api/v1/programs/{published.id}/decision",
                                         json={"decision": "unpublished", "reason": "ю" * 100_000})
    assert huge.status_code in (413, 422) and db.session.get(Program, published.id).status == "published"
    script = "<script>alert(1)</script> устарело"
    answer = api(users["department"]).post(f"/api/v1/programs/{published.id}/decision",
                                           json={"decision": "unpublished", "reason": script})
    assert answer.status_code == 200 and db.session.get(Program, published.id).remarks == script
    page = login(users["department"]).get(f"/catalog/{published.id}").get_data(as_text=True)
    assert "Замечания: &lt;script&gt;alert(1)&lt;/script&gt; устарело" in page and "<script>alert(1)" not in page


#: the lists whose page and API endpoint parse their filters with one schema (common.schemas.FilterSchema):
#: (role, page, API endpoint, a refused query, the field, its message)
NO_SUCH_STATE = "Такого состояния нет: выберите из списка."
NO_SUCH_PROVIDER = "Такого исполнителя нет: выберите из списка."
MONTH = "Выберите месяц, например «декабрь 2026»."
LISTS = [
    ("parent", "/enrollments", "/api/v1/enrollments", {"status": "signed"}, "status", NO_SUCH_STATE),
    ("bookkeeping", "/bookkeeping/agreements", "/api/v1/bookkeeping/agreements", {"status": "x"}, "status", NO_SUCH_STATE),
    ("bookkeeping", "/bookkeeping/agreement-reports", "/api/v1/bookkeeping/agreement-reports", {"status": "x"},
     "status", NO_SUCH_STATE),
    ("department", "/registry/review", "/api/v1/registry/applications", {"status": "x"}, "status", NO_SUCH_STATE),
    ("department", "/registry/admissions", "/api/v1/registry/admissions", {"status": "x"}, "status", NO_SUCH_STATE),
    ("department", "/programs/review", "/api/v1/programs", {"status": "x"}, "status", NO_SUCH_STATE),
    ("department", "/certificates/holders", "/api/v1/certificates", {"period": "٣" * 30}, "period",
     "Такого периода нет: выберите из списка."),
    ("bookkeeping", "/certificates/holders", "/api/v1/certificates", {"q": "ж" * 201}, "q",
     "Поле «Поиск» длиннее 200 символов."),
    ("department", "/certificates/queue", "/api/v1/certificates/applications", {"status": "x"}, "status",
     NO_SUCH_STATE),
    ("department", "/children/corrections", "/api/v1/certificates/child-corrections", {"status": "x"}, "status",
     NO_SUCH_STATE),
    ("bookkeeping", "/bookkeeping/registers", "/api/v1/bookkeeping/payment-registers", {"status": "x"}, "status",
     NO_SUCH_STATE),
    ("bookkeeping", "/bookkeeping/registers", "/api/v1/bookkeeping/payment-registers", {"month": "٢٠٢٦-١٣"}, "month",
     MONTH),
    ("bookkeeping", "/bookkeeping/invoices", "/api/v1/bookkeeping/invoices", {"kind": "x"}, "kind",
     "Такого вида счёта нет: выберите из списка."),
    ("bookkeeping", "/bookkeeping/invoices", "/api/v1/bookkeeping/invoices", {"month": "9" * 5000}, "month", MONTH),
    ("department", "/monitoring/", "/api/v1/monitoring/visits", {"provider": "9" * 5000}, "provider", NO_SUCH_PROVIDER),
    ("department", "/monitoring/", "/api/v1/monitoring/visits", {"year": "２０１９"}, "year",
     "Укажите год от 2020 до 2100."),
    ("parent", "/catalog", "/api/v1/programs/catalog", {"age": "4"}, "age", "Возраст — целое число от 5 до 17."),
    ("parent", "/catalog", "/api/v1/programs/catalog", {"direction": "nonsense"}, "direction",
     "Такой направленности нет: выберите из списка."),
    # a well-formed id of no provider admitted where the caller looks: refused, not an empty list
    ("parent", "/catalog", "/api/v1/programs/catalog", {"provider": "٧٧٧٧٧"}, "provider", NO_SUCH_PROVIDER),
    ("department", "/matters", "/api/v1/matters", {"provider": "77777"}, "provider", NO_SUCH_PROVIDER),
    ("bookkeeping", "/bookkeeping/registers", "/api/v1/bookkeeping/payment-registers", {"provider_id": "77777"},
     "provider_id", NO_SUCH_PROVIDER),
    ("bookkeeping", "/bookkeeping/invoices", "/api/v1/bookkeeping/invoices", {"provider_id": "７７７７７"}, "provider_id",
     NO_SUCH_PROVIDER),
]


@pytest.mark.parametrize("role, page_url, api_url, query, name, message", LISTS,
                         ids=[f"{row[1]}?{row[4]}" for row in LISTS])
def test_a_list_refuses_a_filter_alike_on_the_page_and_in_the_api(login, api, users, role, page_url, api_url, query,
                                                                  name, message):
    """The page shows the message beside its field (and still lists); the API answers it under errors.query."""
    page = login(users[role]).get(page_url, query_string=query)
    assert page.status_code == 422 and message in page.get_data(as_text=True)
    answer = api(users[role]).get(api_url, query_string=query)
    assert answer.status_code == 422 and answer.json["errors"]["query"] == {name: [message]}
    assert login(users[role]).get(page_url, query_string={name: ""}).status_code == 200   # empty: no filter
    assert api(users[role]).get(api_url, query_string={name: ""}).status_code == 200


@pytest.mark.parametrize("page_url", ["/bookkeeping/registers", "/bookkeeping/invoices"])
def test_registers_and_invoices_filter_by_a_provider_chosen_beside_its_message(login, users, page_url):
    """The provider filter is a select of the municipality's providers: a refused id has its message beside it
    (there was no field: the message stood alone, «выберите из списка» with no list), a chosen one stays chosen
    (the next «Показать» dropped it)."""
    _, provider = make_provider(users["provider"], users["department"])
    db.session.commit()
    client = login(users["bookkeeping"])
    refused = client.get(page_url, query_string={"provider_id": "77777"})
    assert refused.status_code == 422
    assert ('<select name="provider_id" aria-invalid="true" aria-describedby="provider_id-error">'
            in refused.get_data(as_text=True))
    chosen = client.get(page_url, query_string={"provider_id": str(provider.id)}).get_data(as_text=True)
    assert f'<option value="{provider.id}" selected>' in chosen.split('<form method="get"')[1]


@pytest.mark.parametrize("page_url, api_url, waiting", [
    ("/certificates/queue", "/api/v1/certificates/applications", "submitted"),
    ("/children/corrections", "/api/v1/certificates/child-corrections", "requested"),
    ("/programs/review", "/api/v1/programs", "submitted"),
])
def test_a_queue_opens_on_what_waits_and_an_empty_state_is_all_alike(login, api, users, page_url, api_url, waiting):
    """The default state is the schema's, for the page and the API; «все» (an empty state) is every state."""
    page = login(users["department"])
    assert f'<option value="{waiting}" selected>' in page.get(page_url).get_data(as_text=True)
    assert 'selected>' not in page.get(page_url, query_string={"status": ""}).get_data(as_text=True).split(
        'name="status"')[1].split("</select>")[0]
    make_program(make_provider(users["provider"], users["department"])[0], users["department"])  # published
    db.session.commit()
    client = api(users["department"])
    if api_url == "/api/v1/programs":
        assert client.get(api_url).json == []                                    # only what waits
        assert [p["status"] for p in client.get(api_url, query_string={"status": ""}).json] == ["published"]
    else:
        assert client.get(api_url).status_code == 200 and client.get(api_url, query_string={"status": ""}).status_code == 200


@pytest.mark.parametrize("url, body", [
    ("/api/v1/bookkeeping/payment-registers", {"month": "2026-11"}),
    ("/api/v1/bookkeeping/invoices", {"month": "2026-11", "kind": "advance"}),
])
def test_forming_for_a_provider_id_past_any_id_is_refused_beside_the_field(api, users, url, body):
    """A provider id no id column holds (10 digits) is refused under errors.json.provider_id, as the lists' filter
    refuses it (on PostgreSQL it had answered «Значение вне допустимого диапазона» with no field)."""
    answer = api(users["bookkeeping"]).post(url, json={**body, "provider_id": 9_999_999_999})
    assert answer.status_code == 422 and answer.json["errors"]["json"] == {"provider_id": [NO_SUCH_PROVIDER]}


def test_a_bulk_decision_on_an_id_past_any_id_is_refused_beside_the_field(api, users):
    """The ids of a bulk action are ids (common.schemas.BulkIdsField): one past any id column is refused under
    errors.json.ids (on PostgreSQL it had answered «Значение вне допустимого диапазона» with no field)."""
    answer = api(users["department"]).post("/api/v1/certificates/applications/bulk-decision",
                                           json={"ids": [1, 9_999_999_999], "decision": "confirmed"})
    assert answer.status_code == 422 and answer.json["errors"]["json"] == {"ids": {"1": ["Допустимо от 1 до 2147483647."]}}


@pytest.mark.parametrize("role, url, body, name", [
    ("parent", "/api/v1/certificates/applications", {"child_id": 9_999_999_999, "period_id": 1, "consent": True},
     "child_id"),
    ("parent", "/api/v1/enrollments", {"certificate_id": 1, "group_id": 9_999_999_999, "start_month": "2026-09"},
     "group_id"),
    ("parent", "/api/v1/reports/feedback", {"contract_id": 9_999_999_999, "rating": 5, "month": "2026-09"},
     "contract_id"),
    ("provider", "/api/v1/bookkeeping/agreement-reports", {"agreement_id": 9_999_999_999, "year": 2026, "quarter": 3},
     "agreement_id"),
    ("provider", "/api/v1/registry/admissions", {"municipality_id": 9_999_999_999}, "municipality_id"),
    ("parent", "/api/v1/certificates/applications", {"child_id": 1, "period_id": 1, "consent": True,
                                                     "category_id": 9_999_999_999}, "category_id"),
    ("department", "/api/v1/publications", {"kind": "social_order", "source_id": 9_999_999_999}, "source_id"),
], ids=lambda value: value if isinstance(value, str) and value.startswith("/") else None)
def test_an_id_in_a_body_past_any_id_is_refused_beside_its_field(api, users, role, url, body, name):
    """An id no id column holds is refused under errors.json.<field> (on PostgreSQL it had reached the database
    and answered «Значение вне допустимого диапазона» with no field)."""
    answer = api(users[role]).post(url, json=body)
    assert answer.status_code == 422 and answer.json["errors"]["json"][name] == ["Допустимо от 1 до 2147483647."]
