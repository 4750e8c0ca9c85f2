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
