"""The provider's application to join the registry of executors (document 2 of п. 6.1) as printed: the
common layout (certapp/common/printing.py)."""
from certapp.accounts.models import User
from certapp.common.printing import PrintedDocument, Section, Signature
from certapp.common.rows import get_existing
from certapp.common.templating import format_date, format_datetime
from certapp.documents.printing import authority_party, bank_details, issuer, provider_party
from certapp.registry.models import PROVIDER_KINDS, RegistryApplication

#: the application is one document: a returned one is corrected and signed again under its number (the
#: signature block says when and by whom), so it is printed as its one version
APPLICATION_VERSION = 1


def _signature(application: RegistryApplication) -> list[Signature]:
    """The one signature the application carries: made at submission (the applicant's), made again with
    each decision (the department's)."""
    if not application.signature:
        return []
    if application.decided_at and application.decided_by_id:
        official = get_existing(User, application.decided_by_id)
        return [Signature(f"Уполномоченный орган (решение: {application.status_name.lower()})", official.full_name,
                          application.signature, application.decided_at)]
    return [Signature("Заявитель", application.applicant.full_name, application.signature, application.submitted_at)]


def registry_application_document(application: RegistryApplication) -> PrintedDocument:
    license_ = application.license
    fields = [("Вид заявителя", PROVIDER_KINDS.get(application.kind, application.kind)),
              ("Полное наименование", application.full_name), ("Сокращённое наименование", application.short_name),
              ("Организационно-правовая форма", application.ownership_name),
              ("ИНН", application.inn), ("ОГРН", application.ogrn), *([("КПП", application.kpp)] if application.kpp else []),
              ("Юридический адрес", application.legal_address), ("Фактический адрес", application.actual_address),
              ("Руководитель", f"{application.head_position} {application.head_name}"),
              ("Телефон, эл. почта", f"{application.phone}, {application.email}"),
              ("Банковские реквизиты", bank_details(application))]
    license_fields = ([("Номер", license_.number), ("Дата выдачи", format_date(license_.issued_on)),
                       ("Выдана", license_.authority),
                       ("Дополнительное образование", "да" if license_.additional_education else "нет")]
                      if license_ else [("Лицензия", "не указана")])
    decision = [("Подана", f"{format_datetime(application.submitted_at)}, {application.applicant.full_name}")] \
        if application.submitted_at else []
    if application.decided_at:
        decision.append(("Решение", f"{application.status_name}, {format_datetime(application.decided_at)}"))
    if application.decision_reason:
        decision.append(("Основание", application.decision_reason))
    return PrintedDocument(
        title="Заявка на включение в реестр исполнителей услуг", number=application.number or "без номера",
        version=APPLICATION_VERSION, date=application.submitted_at or application.created_at,
        date_label="Подана" if application.submitted_at else "Создана", issuer=issuer(application.municipality),
        state=application.status_name,
        subtitle="муниципальной услуги в социальной сфере «Реализация дополнительных общеразвивающих программ»\n"
                 "(п. 6.1.3 постановления № 458-п)",
        parties=[provider_party(application, "Заявитель (исполнитель услуг)"),
                 authority_party(application.municipality, "Рассматривает: уполномоченный орган")],
        sections=[Section("1. Сведения о заявителе", fields=fields),
                  Section("2. Лицензия на образовательную деятельность", fields=license_fields),
                  *([Section("3. Подача и решение", fields=decision)] if decision else [])],
        signatures=_signature(application), filename=f"registry-application-{application.number or application.id}")
