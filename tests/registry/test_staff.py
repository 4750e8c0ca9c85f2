import pytest

from certapp.db import db
from tests.factories import make_provider, make_user, program_data


def _program():
    data = program_data()
    data["price_per_month_rub"] = data.pop("price_per_month")
    return data


def test_a_colleague_joins_the_organisation_in_the_browser_and_then_acts_for_it(login, api, users):
    owner, provider = make_provider(users["provider"], users["department"])
    colleague = make_user("provider")
    db.session.commit()
    client = login(colleague)
    assert client.post("/registry/staff", data={"inn": provider.inn}).status_code == 302
    assert api(colleague).post("/api/v1/programs", json=_program()).status_code == 403
    owner_page = login(owner).get("/registry/staff").get_data(as_text=True)
    assert colleague.email in owner_page and "Подтвердить" in owner_page
    request_id = api(owner).get("/api/v1/registry/staff-requests").json[0]["id"]
    assert login(owner).post(f"/registry/staff-requests/{request_id}/approve").status_code == 302
    db.session.refresh(colleague)
    assert colleague.provider_id == provider.id
    assert api(colleague).post("/api/v1/programs", json=_program()).status_code == 201


def test_staff_request_refusals_in_the_api(api, users):
    owner, provider = make_provider(users["provider"], users["department"])
    other_owner, _ = make_provider(department=users["department"])
    colleague = make_user("provider")
    db.session.commit()
    client = api(colleague)
    assert client.post("/api/v1/registry/staff-requests", json={"inn": "7707083893"}).status_code == 422
    created = client.post("/api/v1/registry/staff-requests", json={"inn": provider.inn})
    assert created.status_code == 201 and created.json["status"] == "requested"
    assert client.post("/api/v1/registry/staff-requests", json={"inn": provider.inn}).status_code == 409
    url = f"/api/v1/registry/staff-requests/{created.json['id']}/decision"
    assert api(other_owner).post(url, json={"approve": True}).status_code == 404  # another organisation
    assert client.post(url, json={"approve": True}).status_code == 404  # not one's own request to approve
    assert api(users["parent"]).post(url, json={"approve": True}).status_code == 403
    declined = api(users["department"]).post(url, json={"approve": False})
    assert declined.json["status"] == "declined"
    assert api(owner).post("/api/v1/registry/staff-requests", json={"inn": provider.inn}).json["status"] == \
        "already_provider"


def _kuragino_provider(users):
    """A provider that the second municipality entered in the registry (admitted there only) and has
    asked to work in the first: (second's department, the provider, its admission request in the first)."""
    from certapp.reference.services import create_municipality
    from certapp.registry import services as registry
    from tests.factories import application_data

    second = create_municipality(name="Курагинский район", oktmo="04630000", number_code="30")
    kuragino = make_user("department", municipality_id=second.id)
    owner = make_user("provider")
    application = registry.save_application(owner, application_data(municipality_id=second.id))
    registry.submit_application(application.id, owner)
    registry.decide_application(application.id, "approved", kuragino)
    provider = registry.provider_of(owner)
    asked = registry.request_admission(owner, users["department"].municipality_id)
    return kuragino, provider, asked


def _state(request_id, colleague_id):
    from certapp.accounts.models import User
    from certapp.registry.models import StaffRequest

    db.session.expire_all()
    return db.session.get(StaffRequest, request_id).status, db.session.get(User, colleague_id).provider_id


def test_a_department_where_the_provider_only_asked_for_admission_cannot_decide_on_its_staff(login, api, users):
    from certapp.common.errors import NotFoundError
    from certapp.registry import services as registry

    kuragino, provider, asked = _kuragino_provider(users)
    karatuz = users["department"]
    outsider = make_user("provider")
    request = registry.request_staff_access(outsider, provider.inn)
    db.session.commit()
    request_id, outsider_id = request.id, outsider.id
    assert not registry.can_decide(request, karatuz) and registry.can_decide(request, kuragino)
    # the service, the API and the page refuse alike; nothing changes
    with pytest.raises(NotFoundError):
        registry.decide_staff_request(request_id, karatuz, approve=True)
    db.session.rollback()
    url = f"/api/v1/registry/staff-requests/{request_id}/decision"
    assert api(karatuz).post(url, json={"approve": True}).status_code == 404
    assert api(karatuz).post(url, json={"approve": False}).status_code == 404
    page = login(karatuz)
    assert page.post(f"/registry/staff-requests/{request_id}/approve").status_code == 302
    assert _state(request_id, outsider_id) == ("requested", None)
    # the request is not the first municipality's to see, nor to offer buttons for
    assert outsider.email not in page.get("/registry/staff").get_data(as_text=True)
    assert all(r["id"] != request_id for r in api(karatuz).get("/api/v1/registry/staff-requests").json)
    # the municipality that admitted the provider decides
    listed = api(kuragino).get("/api/v1/registry/staff-requests").json
    assert [(r["id"], r["can_decide"]) for r in listed] == [(request_id, True)]
    assert api(kuragino).post(url, json={"approve": True}).json["status"] == "approved"
    assert _state(request_id, outsider_id) == ("approved", provider.id)


def test_once_admitted_in_force_the_other_department_decides_on_the_staff_too(login, api, users):
    from certapp.registry import services as registry

    _, provider, asked = _kuragino_provider(users)
    karatuz = users["department"]
    registry.decide_admission(asked.id, "active", karatuz)
    outsider = make_user("provider")
    request = registry.request_staff_access(outsider, provider.inn)
    db.session.commit()
    request_id, outsider_id = request.id, outsider.id
    page = login(karatuz).get("/registry/staff").get_data(as_text=True)
    assert outsider.email in page and f"/registry/staff-requests/{request_id}/approve" in page
    # suspended, the admission is no longer in force: no say, no button
    registry.decide_admission(asked.id, "suspended", karatuz, reason="Проверка")
    db.session.commit()
    assert not registry.can_decide(db.session.get(type(request), request_id), karatuz)
    page = login(karatuz).get("/registry/staff").get_data(as_text=True)
    assert f"/registry/staff-requests/{request_id}/approve" not in page
    assert api(karatuz).post(f"/api/v1/registry/staff-requests/{request_id}/decision",
                             json={"approve": True}).status_code == 404
    assert _state(request_id, outsider_id) == ("requested", None)
    registry.decide_admission(asked.id, "active", karatuz)
    db.session.commit()
    assert api(karatuz).post(f"/api/v1/registry/staff-requests/{request_id}/decision",
                             json={"approve": True}).json["status"] == "approved"
    assert _state(request_id, outsider_id) == ("approved", provider.id)
