"""The registry of executors: applications, the art-school exclusion, decisions, entries."""
from datetime import date

from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.common import clock, events
from certapp.common.errors import (
    ConflictError,
    DomainError,
    FieldChecks,
    KeptRefusal,
    NotFoundError,
    PermissionDeniedError,
    TransitionError,
    ValidationError,
)
from certapp.common.normalise import ascii_text
from certapp.common.roles import require_role
from certapp.common.rows import get_existing
from certapp.common.states import transition
from certapp.common.validators import (
    check_bik,
    check_inn,
    check_kpp,
    check_ogrn,
    check_settlement_account,
    digits_only,
    free_text,
    normalise_email,
    normalise_phone,
    text_field,
)
from certapp.db import db, utcnow
from certapp.deadlines.services import due_date
from certapp.documents.services import SignedDocument, next_number, sign_document, signed_document_finder
from certapp.reference.services import find_municipality, get_district, own_municipality_id
from certapp.registry.exclusion import check_exclusion
from certapp.registry.models import (
    ADMISSION_STATUSES,
    ADMISSION_TRANSITIONS,
    APPLICATION_HOLDING_STATUSES,
    APPLICATION_TRANSITIONS,
    ENTRY_TRANSITIONS,
    OWNERSHIP_TYPES,
    PROVIDER_KINDS,
    STAFF_REQUEST_TRANSITIONS,
    Admission,
    License,
    Provider,
    ProviderDetails,
    RegistryApplication,
    RegistryEntry,
    StaffRequest,
)


class ExcludedProviderError(DomainError):
    code = "excluded_provider"
    status = 422


#: fields of an application that are the provider's data, copied to Provider at approval
PROVIDER_FIELDS = ("inn", *ProviderDetails.__annotations__)
LICENSE_FIELDS = ("number", "issued_on", "authority", "additional_education")



def clean_application_data(data: dict) -> dict:
    """Check and normalise what a provider typed. Raises one ValidationError naming every wrong field."""
    kind = data.get("kind")
    if kind not in PROVIDER_KINDS:
        raise ValidationError("Выберите: юридическое лицо или индивидуальный предприниматель.", field="kind")
    checks = FieldChecks()
    ownership = data.get("ownership")
    if ownership not in OWNERSHIP_TYPES:
        checks.fail("ownership", "Выберите форму собственности.")
    elif (kind == "individual") != (ownership == "individual"):
        checks.fail("ownership", "Для ИП форма собственности — «Индивидуальный предприниматель», и только для ИП.")
    clean = {
        "kind": kind,
        "ownership": ownership,
        "full_name": checks(text_field, data.get("full_name"), "full_name", "Полное наименование", 500),
        "short_name": checks(text_field, data.get("short_name"), "short_name", "Сокращённое наименование", 255),
        "inn": checks(check_inn, data.get("inn"), kind),
        "ogrn": checks(check_ogrn, data.get("ogrn"), kind),
        "kpp": checks(check_kpp, data.get("kpp")) if kind == "legal_entity" else None,
        "legal_address": checks(text_field, data.get("legal_address"), "legal_address", "Юридический адрес", 500),
        "actual_address": checks(text_field, data.get("actual_address"), "actual_address", "Фактический адрес", 500),
        "head_name": checks(text_field, data.get("head_name"), "head_name", "ФИО руководителя", 255),
        "head_position": checks(text_field, data.get("head_position"), "head_position", "Должность руководителя", 255),
        "phone": checks(normalise_phone, data.get("phone")),
        "email": checks(normalise_email, data.get("email")),
        "bik": checks(check_bik, data.get("bik")),
    }
    if clean["bik"]:
        clean["settlement_account"] = checks(check_settlement_account, data.get("settlement_account"), clean["bik"])
    checks.done()
    return clean


def clean_license_data(data: dict) -> dict | None:
    """The license part, or None when no license number is given (a draft may lack it)."""
    if not (data.get("license_number") or "").strip():
        return None
    issued_on = data.get("license_issued_on")
    if not isinstance(issued_on, date):
        raise ValidationError("Укажите дату выдачи лицензии.", field="license_issued_on")
    if issued_on > clock.today():
        raise ValidationError("Дата выдачи лицензии не может быть в будущем.", field="license_issued_on")
    return {
        "number": text_field(ascii_text(data.get("license_number")), "license_number", "Номер лицензии", 64),
        "issued_on": issued_on,
        "authority": text_field(data.get("license_authority"), "license_authority", "Кем выдана лицензия", 500),
        "additional_education": bool(data.get("license_additional_education")),
    }


def clean_application(data: dict) -> tuple[dict, dict | None]:
    """The organisation's fields and the license's checked at once: (clean data, license data), or one
    ValidationError naming every wrong field."""
    checks = FieldChecks()
    clean = checks(clean_application_data, data)
    license_data = checks(clean_license_data, data)
    checks.done()
    return clean, license_data


def get_application(application_id: int, user: User) -> RegistryApplication:
    """An application its applicant or the department may see."""
    application = db.session.get(RegistryApplication, application_id)
    if application is None or (not user.reads_as("department") and application.applicant_id != user.id):
        raise NotFoundError("Заявка не найдена.")
    return application


def my_applications(user: User) -> list[RegistryApplication]:
    return list(db.session.execute(_own_applications_query(user)).scalars())


def _own_applications_query(user: User):
    return (select(RegistryApplication).where(RegistryApplication.applicant_id == user.id)
            .options(selectinload(RegistryApplication.license)).order_by(RegistryApplication.id.desc()))


def applications_visible_to(user: User, status: str | None = None):
    """The registry applications a user lists: a provider account its own; the department the review
    queue (in `status`)."""
    return _own_applications_query(user) if user.role == "provider" else review_queue(status)


def save_application(user: User, data: dict, application_id: int | None = None) -> RegistryApplication:
    """Create or edit a draft (or a returned application). Raises ValidationError / TransitionError."""
    require_role(user, "provider")
    clean, license_data = clean_application(data)
    if application_id is None:
        if user.provider_id is not None:
            raise ConflictError("Вы уже представляете исполнителя, включённого в реестр: одна учётная запись — "
                                "одна организация.", code="already_provider")
        application = RegistryApplication(applicant_id=user.id, status="draft",
                                          municipality_id=_applied_municipality(data), **clean)
        db.session.add(application)
        action = "registry_application.create"
    else:
        application = get_application(application_id, user)
        if not application.editable:
            raise TransitionError("Заявку в этом состоянии изменить нельзя.")
        for field, value in clean.items():
            setattr(application, field, value)
        # a returned application is corrected: the signed version was the one returned; this one is
        # signed when submitted again
        application.signature = None
        if data.get("municipality_id") not in (None, ""):
            application.municipality_id = _applied_municipality(data)
        action = "registry_application.update"
    if license_data is None:
        application.license = None
    elif application.license is None:
        application.license = License(**license_data)
    else:
        for field, value in license_data.items():
            setattr(application.license, field, value)
    record_event(action, application, to_state=application.status, actor=user)
    return application


def _applied_municipality(data: dict) -> int:
    """The municipality whose department reviews the application (where the provider asks to work
    first): named by id in the form or API, the default one when the installation has one."""
    chosen = data.get("municipality_id")
    if chosen in (None, ""):
        return get_district().id
    found = find_municipality(int(chosen)) if str(chosen).isdigit() else None
    if found is None:
        raise ValidationError("Выберите муниципальное образование из списка.", field="municipality_id")
    return found.id


def _transition(application: RegistryApplication, to_status: str, actor: User, reason: str | None = None) -> None:
    transition(application, to_status, APPLICATION_TRANSITIONS, actor, event="registry_application",
               refusal="Нельзя перевести заявку из состояния «{status}».",
               details={"reason": reason} if reason else None)


def submit_application(application_id: int, user: User) -> RegistryApplication:
    """submit_application_keeping_refusal() raising the refusal of an excluded art school (its
    rejection stays written in the session: the caller's unit rolls it back, or the caller commits it)."""
    result = submit_application_keeping_refusal(application_id, user)
    if isinstance(result, KeptRefusal):
        raise result.error
    return result


def submit_application_keeping_refusal(application_id: int, user: User) -> RegistryApplication | KeptRefusal:
    """Submit for review. Refuses: no license, an excluded art school, an ИНН already pending or in the registry.

    An excluded art school (п. 4 of 458-п) is rejected at once, signed as filed and refused, and the
    result is a KeptRefusal(ExcludedProviderError) for the provider's page and the API to show while
    the rejection commits. Raises ValidationError, ConflictError, TransitionError.
    """
    require_role(user, "provider")
    application = get_application(application_id, user)
    if not application.editable:
        raise TransitionError(f"Заявка уже в состоянии «{application.status_name}».")
    if application.license is None:
        raise ValidationError("Без лицензии на образовательную деятельность заявку подать нельзя "
                              "(основание включения в реестр — лицензия).", field="license_number")
    if not application.license.additional_education:
        raise ValidationError("В лицензии должен быть подвид «дополнительное образование детей и взрослых».",
                              field="license_additional_education")
    check = exclusion_check(application)
    _number(application)
    application.submitted_at = utcnow()
    if check.excluded:
        # the refusal is final and is kept: the system rejects the application, signed as filed and refused
        application.decided_at, application.decided_by_id = utcnow(), None  # no official: the rule decided
        application.decision_reason = check.reason
        _transition(application, "rejected", user, check.reason)
        _sign(application)
        return KeptRefusal(ExcludedProviderError(check.reason, field="full_name"))
    application.flagged, application.flag_reason = check.flagged, check.reason
    application.decision_reason = None
    _ensure_inn_free(application)
    application.due_on = due_date("registry_review", clock.today(), application.municipality_id)
    try:
        with db.session.begin_nested():  # the unique index decides a race between two submissions
            _transition(application, "submitted", user)
    except IntegrityError:
        raise ConflictError("Заявка с этим ИНН уже рассматривается или исполнитель уже в реестре.",
                            field="inn", code="duplicate_inn")
    _sign(application)
    return application


def _sign(application: RegistryApplication) -> None:
    """The application is an electronic document (п. 6.1.3 of 458-п), signed as submitted — as the
    parent's application is — and signed again with each decision, whose time its content holds: a
    refused application checks at /documents/verify as well as an approved one."""
    application.signature = sign_document(application_content(application))


def sign_unsigned_applications() -> int:
    """Sign the submitted applications that hold no signature (made before applications were signed at
    submission: only approved ones were). Idempotent; returns how many it signed."""
    count = 0
    for application in db.session.execute(select(RegistryApplication).where(
            RegistryApplication.status != "draft", RegistryApplication.number.is_not(None),
            RegistryApplication.signature.is_(None)).execution_options(all_municipalities=True)).scalars():
        _sign(application)
        record_event("registry_application.signed", application, to_state=application.status, actor=None,
                     details={"number": application.number, "reason": "signed after the fact"})
        count += 1
    return count


def _number(application: RegistryApplication) -> None:
    if application.number is None:
        application.number = next_number("registry_application")


def _ensure_inn_free(application: RegistryApplication) -> None:
    clash = db.session.execute(select(RegistryApplication.id).where(
        RegistryApplication.inn == application.inn, RegistryApplication.id != application.id,
        RegistryApplication.status.in_(APPLICATION_HOLDING_STATUSES))).first()
    in_registry = db.session.execute(select(Provider.id).where(Provider.inn == application.inn)).first()
    if clash or in_registry:
        raise ConflictError("Заявка с этим ИНН уже рассматривается или исполнитель уже в реестре.",
                            field="inn", code="duplicate_inn")
    _ensure_ogrn_free(application)


def _ensure_ogrn_free(application: RegistryApplication, in_review: bool = True) -> None:
    """One ОГРН is one organisation (its branches share its ИНН too): another ИНН with it is the same
    provider entered twice. On submission neither another application in review nor the registry may
    hold it; on approval, the registry."""
    clash = in_review and db.session.execute(select(RegistryApplication.id).where(
        RegistryApplication.ogrn == application.ogrn, RegistryApplication.id != application.id,
        RegistryApplication.status.in_(APPLICATION_HOLDING_STATUSES))).first()
    in_registry = db.session.execute(select(Provider.id).where(
        Provider.ogrn == application.ogrn, Provider.application_id != application.id)).first()
    if clash or in_registry:
        raise ConflictError("Заявка с этим ОГРН уже рассматривается или исполнитель уже в реестре.",
                            field="ogrn", code="duplicate_ogrn")


def _reason(reason: str | None, required_for: str) -> str:
    return free_text(reason, f"Укажите причину ({required_for}).")


def decide_application(application_id: int, decision: str, actor: User, reason: str | None = None):
    """The department approves, returns for correction (remarks required) or rejects (reason required).

    Approval creates the Provider, its RegistryEntry with a number and date, links the applicant to it,
    and signs the application. Raises TransitionError, ValidationError, ExcludedProviderError.
    """
    require_role(actor, "department")
    application = get_application(application_id, actor)
    if decision not in ("approved", "returned", "rejected"):
        raise ValidationError("Неизвестное решение.", field="decision")
    if decision == "returned":
        application.decision_reason = _reason(reason, "замечания для доработки")
    elif decision == "rejected":
        application.decision_reason = _reason(reason, "основание отказа")
    else:
        check = exclusion_check(application)
        if check.excluded:
            raise ExcludedProviderError(check.reason)
        _ensure_ogrn_free(application, in_review=False)
        application.decision_reason = free_text(reason)
    _transition(application, decision, actor, application.decision_reason)
    application.decided_at = utcnow()
    application.decided_by_id = actor.id
    if decision == "approved":
        _enter_registry(application, actor)
    _sign(application)
    return application


def exclusion_check(application: RegistryApplication):
    """п. 4 of 458-п, and what the municipality's own order adds to it (its `extra_exclusions`)."""
    municipality = application.municipality
    basis = f"постановление {municipality.order}, {municipality.name}" if municipality.order else municipality.name
    return check_exclusion(application.full_name, application.short_name,
                           extra=tuple(municipality.extra_exclusions or ()), extra_basis=basis)


def application_content(application: RegistryApplication) -> dict:
    """The canonical content of the application document, as signed."""
    content = {field: getattr(application, field) for field in PROVIDER_FIELDS}
    content["number"] = application.number
    content["license"] = {field: getattr(application.license, field) for field in LICENSE_FIELDS}
    content["decided_at"] = application.decided_at
    return content


@signed_document_finder
def _signed_registry_application(number: str) -> SignedDocument | None:
    """The application as entered in the registry, by its own number or the registry entry's."""
    if number.startswith("РЗ-"):
        application = db.session.execute(select(RegistryApplication).where(
            RegistryApplication.number == number)).scalar_one_or_none()
    elif number.startswith("РИ-"):
        application = db.session.execute(select(RegistryApplication).join(
            Provider, Provider.application_id == RegistryApplication.id).join(
            RegistryEntry, RegistryEntry.provider_id == Provider.id).where(
            RegistryEntry.number == number)).scalar_one_or_none()
    else:
        return None
    return SignedDocument("registry_application", "Заявка на включение в реестр исполнителей",
                          application.number or number, application_content(application),
                          application.signature, gender="f") if application else None


def _enter_registry(application: RegistryApplication, actor: User | None) -> RegistryEntry:
    provider = Provider(application_id=application.id, **{f: getattr(application, f) for f in PROVIDER_FIELDS})
    db.session.add(provider)
    db.session.flush()
    entry = RegistryEntry(provider=provider, entered_on=clock.today(), status="active",
                          number=next_number("registry_entry"))
    db.session.add(entry)
    applicant = get_existing(User, application.applicant_id)
    applicant.provider_id = provider.id
    record_event("registry_entry.create", entry, to_state="active", actor=actor,
                 details={"number": entry.number, "inn": provider.inn})
    events.registry_entry_created.send(entry, actor=actor)
    # the municipality that reviewed the application admits the provider at once
    admission = Admission(provider_id=provider.id, municipality_id=application.municipality_id, status="requested")
    db.session.add(admission)
    _decide(admission, "active", actor)
    return entry


def change_entry_status(entry_id: int, to_status: str, actor: User, reason: str | None) -> RegistryEntry:
    """Suspend, restore or exclude a registry entry, with a reason. The provider's programs leave the
    catalog at once, because the catalog shows only providers whose entry is active."""
    require_role(actor, "department")
    entry = db.session.get(RegistryEntry, entry_id)
    if entry is None:
        raise NotFoundError("Запись реестра не найдена.")
    home = entry.provider.application  # invisible to another municipality's officials
    if home is None or home.municipality_id != own_municipality_id(actor):
        raise PermissionDeniedError("Запись реестра приостанавливает или исключает муниципалитет, включивший "
                                    "исполнителя в реестр. В своём муниципалитете приостановите или прекратите "
                                    "допуск исполнителя.", code="not_home_municipality")
    reason = _reason(reason, "основание")
    transition(entry, to_status, ENTRY_TRANSITIONS, actor, event="registry_entry",
               refusal="Нельзя перевести запись реестра из состояния «{status}».", details={"reason": reason})
    entry.status_reason, entry.status_changed_at = reason, utcnow()
    return entry


def review_queue(status: str | None = None):
    """Applications for the department: flagged first, then oldest first."""
    stmt = (select(RegistryApplication).where(RegistryApplication.status != "draft")
            .options(selectinload(RegistryApplication.license)))
    if status:
        stmt = stmt.where(RegistryApplication.status == status)
    return stmt.order_by(RegistryApplication.flagged.desc(),
                         case((RegistryApplication.status == "submitted", 0), else_=1),
                         RegistryApplication.submitted_at.asc(), RegistryApplication.id.asc())


def provider_of(user: User) -> Provider | None:
    """The provider a provider account acts for, with its registry entry in the same query (nearly every
    caller asks whether it is in the registry: every offer and report does)."""
    if user.role != "provider" or user.provider_id is None:
        return None
    return db.session.get(Provider, user.provider_id, options=[joinedload(Provider.entry)])


def require_registry_provider(user: User) -> Provider:
    """The provider a user acts for, which must be active in the registry."""
    require_role(user, "provider")
    provider = provider_of(user)
    if provider is None or not provider.in_registry:
        raise PermissionDeniedError("Действие доступно только исполнителю, включённому в реестр "
                                    "исполнителей услуг.", code="not_in_registry")
    return provider


def registry_entries(search: str | None = None, include_inactive: bool = True):
    """Public registry: entries with their providers and licenses (loaded with them), searchable by
    name, ИНН or number. The registry is the region's, whoever asks: an official's scope does not hide
    the applications (and licenses) of providers that applied in other municipalities."""
    stmt = (select(RegistryEntry).join(RegistryEntry.provider)
            .options(contains_eager(RegistryEntry.provider).selectinload(Provider.application)
                     .selectinload(RegistryApplication.license))
            .order_by(RegistryEntry.number).execution_options(all_municipalities=True))
    if not include_inactive:
        stmt = stmt.where(RegistryEntry.status == "active")
    if search:
        pattern = f"%{ascii_text(search).strip().lower()}%"  # an ИНН typed in fullwidth digits finds it too
        stmt = stmt.where(or_(func.lower(Provider.full_name).like(pattern),
                              func.lower(Provider.short_name).like(pattern),
                              Provider.inn.like(pattern), RegistryEntry.number.like(pattern)))
    return stmt


def registry_rows(search: str | None = None):
    """The public registry's export rows, read in batches (executed now, fetched as they are written)."""
    entries = db.session.execute(registry_entries(search).execution_options(yield_per=500)).scalars()
    return ([entry.number, entry.entered_on, entry.status_name, p.full_name, p.short_name, p.inn, p.ogrn,
             p.ownership_name, lic.number, lic.issued_on, lic.authority]
            for entry in entries for p, lic in [(entry.provider, entry.provider.license)])


def registry_providers() -> list[Provider]:
    """The providers of the registry (whatever their entry's status) admitted at some time in the
    current municipality (the scope limits the admissions): the ones its bookkeeping may pay."""
    return list(db.session.execute(select(Provider).join(RegistryEntry)
                                   .where(Provider.id.in_(select(Admission.provider_id)))
                                   .order_by(Provider.short_name)).scalars())


# --- staff of a provider ---------------------------------------------------------------------------

def request_staff_access(user: User, inn: str) -> StaffRequest:
    """A provider account asks to act for an organisation in the registry, found by its ИНН."""
    require_role(user, "provider")
    if user.provider_id is not None:
        raise ConflictError("Вы уже действуете от имени исполнителя.", code="already_provider")
    inn = digits_only(inn)
    provider = db.session.execute(select(Provider).where(Provider.inn == inn)).scalar_one_or_none()
    if provider is None or provider.entry is None or provider.entry.status == "excluded":
        raise ValidationError("Исполнитель с таким ИНН в реестре не найден.", field="inn")
    request = StaffRequest(user_id=user.id, provider_id=provider.id, status="requested")
    try:
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
            db.session.add(request)
            db.session.flush()
    except IntegrityError:
        raise ConflictError("Ваш запрос уже ждёт подтверждения.", code="request_pending")
    record_event("staff_request.requested", request, to_state="requested", actor=user,
                 details={"provider_id": provider.id})
    return request


def staff_requests_for(user: User):
    """A provider's staff see the requests to their organisation; a provider account its own; the
    department all."""
    stmt = (select(StaffRequest).options(selectinload(StaffRequest.user), selectinload(StaffRequest.provider))
            .order_by(StaffRequest.status.desc(), StaffRequest.id.desc()))
    if user.reads_as("department"):
        return stmt
    if user.provider_id is not None:
        return stmt.where(StaffRequest.provider_id == user.provider_id)
    return stmt.where(StaffRequest.user_id == user.id)


def can_decide(request: StaffRequest, user, admitted: set[int] | None = None) -> bool:
    """Who may confirm or decline a request to act for an organisation: its own staff, or the
    department of a municipality where the organisation's admission is in force. An admission merely
    asked for (or refused, suspended, ended) gives that municipality no say over the organisation's
    people: else a provider's request to work there would let its officials hand the organisation to
    anyone. The page, the API and the template ask this one function (`admitted`: the providers
    admitted in the user's municipality, when a page of requests has read them at once)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role == "provider":
        return user.provider_id is not None and user.provider_id == request.provider_id
    if user.role == "department" and user.municipality_id is not None:
        return request.provider_id in (_admitted_here([request.provider_id], user) if admitted is None else admitted)
    return False


def _admitted_here(provider_ids: list[int], user) -> set[int]:
    """Those of the providers whose admission to the user's municipality is in force."""
    return set(db.session.execute(select(Admission.provider_id).where(
        Admission.provider_id.in_(provider_ids), Admission.municipality_id == user.municipality_id,
        Admission.status == "active").execution_options(all_municipalities=True)).scalars())


def mark_decidable(requests: list[StaffRequest], user) -> list[StaffRequest]:
    """Note on each of a page of requests whether `user` may decide it (can_decide), in one query for the
    page: `decidable_for` = {user id: bool}, which the schema reads while the request still waits."""
    admitted = _admitted_here([r.provider_id for r in requests], user) if user.role == "department" else None
    for request in requests:
        request.decidable_for = {user.id: can_decide(request, user, admitted)}  # type: ignore[attr-defined]  # read by the schema
    return requests


def decide_staff_request(request_id: int, actor: User, approve: bool) -> StaffRequest:
    """The organisation's staff (or the department where it is admitted, see can_decide) confirm or
    decline; confirmed, the account acts for the organisation. Raises NotFoundError for a request the
    actor may not decide, ConflictError when it is decided already or the account acts for another."""
    require_role(actor, "provider", "department")
    request = db.session.get(StaffRequest, request_id)
    if request is None or not can_decide(request, actor):
        raise NotFoundError("Запрос не найден.")
    to_status = "approved" if approve else "declined"
    transition(request, to_status, STAFF_REQUEST_TRANSITIONS, actor, event="staff_request",
               refusal="Запрос уже в состоянии «{status}».")
    request.decided_at, request.decided_by_id = utcnow(), actor.id
    if approve:
        if request.user.provider_id is not None:
            raise ConflictError("Эта учётная запись уже действует от имени исполнителя.", code="already_provider")
        request.user.provider_id = request.provider_id
    return request


def staff_of(provider_id: int) -> list[User]:
    return list(db.session.execute(select(User).where(User.provider_id == provider_id).order_by(User.full_name))
                .scalars())


# --- admission to municipalities -------------------------------------------------------------------

def admitted_in(provider_id: int, municipality_id: int) -> bool:
    """The provider works in the municipality: its admission there is active (and its entry too)."""
    return db.session.execute(select(Admission.id).join(RegistryEntry, RegistryEntry.provider_id == Admission.provider_id)
                              .where(Admission.provider_id == provider_id, Admission.municipality_id == municipality_id,
                                     Admission.status == "active", RegistryEntry.status == "active")
                              .execution_options(all_municipalities=True)).first() is not None


def is_filter_provider(provider_id: int) -> bool:
    """Whether a list (contracts, monitoring visits) can be filtered by this provider: one admitted (at some
    time) in the caller's municipality — the scope limits the admissions; without a scope (a parent), in any.
    A provider that does not exist or works only elsewhere is refused beside the filter, not listed as nothing."""
    return db.session.execute(select(Admission.id).where(Admission.provider_id == provider_id).limit(1)
                              ).first() is not None


def admissions_of(provider_id: int) -> list[Admission]:
    """A provider's admissions, every municipality (its staff see them all)."""
    return list(db.session.execute(_admissions_of_query(provider_id)).scalars())


def _admissions_of_query(provider_id: int | None):
    return (select(Admission).where(Admission.provider_id == provider_id).order_by(Admission.id.desc())
            .execution_options(all_municipalities=True))


def admissions_visible_to(user: User, status: str | None = None):
    """The admissions a user lists: a provider's staff their organisation's in every municipality (none
    before it is a provider); the department those in its municipality (in `status`)."""
    if user.role == "provider":
        provider = provider_of(user)
        return _admissions_of_query(provider.id if provider else None)
    return admissions_query(status)


def admissions_query(status: str | None = None):
    """Admissions as the caller may see them (a municipality's officials: their own)."""
    stmt = (select(Admission).join(Admission.provider).options(contains_eager(Admission.provider))
            .order_by(Admission.status.desc(), Provider.short_name))
    return stmt.where(Admission.status == status) if status else stmt


def request_admission(user: User, municipality_id: int | None) -> Admission:
    """A provider in the registry asks to work in one more municipality; its department decides.
    Raises ValidationError (no such municipality), ConflictError (already admitted or asked)."""
    provider = require_registry_provider(user)
    municipality = find_municipality(municipality_id) if isinstance(municipality_id, int) else None
    if municipality is None:
        raise ValidationError("Выберите муниципальное образование из списка.", field="municipality_id")
    admission = Admission(provider_id=provider.id, municipality_id=municipality.id, status="requested")
    try:
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
            db.session.add(admission)
            db.session.flush()
    except IntegrityError:
        raise ConflictError(f"Допуск в муниципальном образовании «{municipality.name}» уже есть или запрошен.",
                            field="municipality_id", code="admission_exists")
    record_event("admission.requested", admission, to_state="requested", actor=user,
                 details={"provider_id": provider.id})
    events.admission_requested.send(admission, actor=user)
    return admission


def get_admission(admission_id: int) -> Admission:
    admission = db.session.get(Admission, admission_id)
    if admission is None:
        raise NotFoundError("Допуск не найден.")
    return admission


def _decide(admission: Admission, to_status: str, actor: User | None, reason: str | None = None) -> None:
    transition(admission, to_status, ADMISSION_TRANSITIONS, actor, event="admission",
               refusal="Нельзя перевести допуск из состояния «{status}».", details={"reason": reason} if reason else None)
    admission.reason = reason
    admission.decided_at, admission.decided_by_id = utcnow(), getattr(actor, "id", None)


def decide_admission(admission_id: int, to_status: str, actor: User, reason: str | None = None) -> Admission:
    """The municipality's department admits (active), refuses, suspends, restores or ends a
    provider's admission in its municipality; a reason is required for all but admitting. Admitted
    for the first time, the provider gets a draft agreement with the municipality (bookkeeping)."""
    require_role(actor, "department")
    admission = get_admission(admission_id)
    if to_status not in ADMISSION_STATUSES:
        raise ValidationError("Неизвестное решение.", field="decision")
    if to_status == "active" and not admission.provider.in_registry:
        raise TransitionError("Исполнитель не состоит в реестре: допустить его нельзя.")
    reason = free_text(reason) if to_status == "active" else _reason(reason, "основание")
    _decide(admission, to_status, actor, reason)
    return admission


# --- a district's providers arriving from another system (certapp.imports) --------------------------

def enter_imported(user: User, clean: dict, license_data: dict, municipality_id: int, actor: User | None,
                   entered_on: date | None = None) -> Provider:
    """A provider already in the registry of the system a district leaves: its application is kept as
    approved by the importing official (signed, numbered), the provider enters the registry with its
    entry and is admitted in the municipality, `user` (its account) acting for it. The caller checked
    the data (clean_application), the art-school exclusion and that the ИНН and ОГРН are free."""
    now = utcnow()
    application = RegistryApplication(applicant_id=user.id, status="approved", municipality_id=municipality_id,
                                      submitted_at=now, decided_at=now, decided_by_id=getattr(actor, "id", None),
                                      decision_reason="Перенесено из прежней системы", **clean)
    application.license = License(**license_data)
    db.session.add(application)
    _number(application)
    db.session.flush()
    record_event("registry_application.imported", application, to_state="approved", actor=actor,
                 details={"inn": application.inn, "number": application.number})
    entry = _enter_registry(application, actor)
    if entered_on is not None:
        entry.entered_on = entered_on
    _sign(application)
    return entry.provider


def ogrn_taken(ogrn: str) -> bool:
    """Whether a provider in the registry, or an application in review, holds the ОГРН."""
    return db.session.execute(select(Provider.id).where(Provider.ogrn == ogrn).union_all(
        select(RegistryApplication.id).where(RegistryApplication.ogrn == ogrn,
                                             RegistryApplication.status.in_(APPLICATION_HOLDING_STATUSES)))
        .limit(1).execution_options(all_municipalities=True)).first() is not None  # one ОГРН in the whole region


def inn_taken(inn: str) -> str | None:
    """Why the ИНН cannot enter the registry again (a provider holds it, or an application in review),
    or None."""
    provider = db.session.execute(select(Provider).where(Provider.inn == inn)).scalar_one_or_none()
    if provider is not None:
        number = provider.entry.number if provider.entry else ""
        return f"Исполнитель с этим ИНН уже в реестре: {provider.short_name}" + (f", запись № {number}." if number else ".")
    if db.session.execute(select(RegistryApplication.id).where(
            RegistryApplication.inn == inn, RegistryApplication.status.in_(APPLICATION_HOLDING_STATUSES))
            .execution_options(all_municipalities=True)).first():  # one ИНН in the whole region
        return "Заявка исполнителя с этим ИНН уже рассматривается."
    return None
