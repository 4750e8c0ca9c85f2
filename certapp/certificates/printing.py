"""The parent's certificate application (document 5 of п. 6.1) and the certificate as printed: the common
layout (certapp/common/printing.py)."""
from collections.abc import Sequence
from typing import TYPE_CHECKING

from certapp.accounts.models import User
from certapp.certificates.models import Certificate, CertificateApplication
from certapp.common.money import format_rub
from certapp.common.printing import Party, PrintedDocument, Section, Signature
from certapp.common.rows import get_existing
from certapp.common.templating import format_date, format_datetime
from certapp.documents.printing import authority_party, issuer
from certapp.ledger.models import CertificateBalance

if TYPE_CHECKING:  # the contracts' parts of the certificate: contracts imports certificates
    from certapp.contracts.contracts import ContractPart

#: an application is signed once, at submission, and never amended
APPLICATION_VERSION = 1
SERVICE = "«Реализация дополнительных общеразвивающих программ»"


def application_document(application: CertificateApplication) -> PrintedDocument:
    child = application.child
    filer = get_existing(User, application.filed_by_id) if application.filed_by_id else application.parent
    decision = [("Состояние", application.status_name)]
    if application.decided_at:
        decision.append(("Решение принято", format_datetime(application.decided_at)))
    if application.decision_reason:
        decision.append(("Основание", application.decision_reason))
    if application.certificate:
        decision.append(("Выдан сертификат", f"№ {application.certificate.number}"))
    return PrintedDocument(
        title="Заявление о получении социального сертификата", number=application.number,
        version=APPLICATION_VERSION, date=application.created_at, date_label="Подано",
        issuer=issuer(application.municipality), state=application.status_name,
        subtitle=f"на получение муниципальной услуги в социальной сфере {SERVICE}\n"
                 "(Федеральный закон № 189-ФЗ, п. 6.1.5 постановления № 458-п)",
        parties=[Party("Заявитель (законный представитель)", application.parent.full_name),
                 authority_party(application.municipality, "Кому: уполномоченный орган")],
        sections=[
            Section("1. Потребитель услуги (ребёнок)", fields=[
                ("Фамилия, имя, отчество", child.full_name), ("Дата рождения", format_date(child.birth_date)),
                ("СНИЛС", child.snils_masked)]),
            Section("2. Что просит заявитель", fields=[
                ("Период", application.period.name), ("Категория", application.category.name),
                *([("Группа для зачисления", application.wanted_group.name)] if application.wanted_group else []),
                ("Согласие на обработку персональных данных", format_datetime(application.consent_at)),
                *([("Подано уполномоченным органом за заявителя", filer.full_name)]
                  if application.filed_by_id else [])]),
            Section("3. Рассмотрение", fields=decision),
        ],
        signatures=[Signature("Заявитель" if not application.filed_by_id else "Принято уполномоченным органом",
                              filer.full_name, application.signature, application.created_at)]
        if application.signature else [],
        filename=f"application-{application.number}")


def certificate_document(certificate: Certificate, balance: CertificateBalance | None,
                         parts: "Sequence[ContractPart]" = (), *, qr_text: str, verify_url: str,
                         keys_url: str) -> PrintedDocument:
    """The certificate's three parts (189-ФЗ): general information with the signed QR code (qr_text: the
    check page's link holding it) and how a parent checks it (verify_url: the page taking the number;
    keys_url: the public keys, for integrators), the service and the chosen executor, the contracts
    concluded with their results by month."""
    child = certificate.child
    general = [("Номер сертификата", certificate.number), ("Потребитель услуг", child.full_name),
               ("Дата рождения", format_date(child.birth_date)), ("СНИЛС", child.snils_masked),
               ("Период", certificate.period.name),
               ("Срок действия", f"с {format_date(certificate.valid_from)} по {format_date(certificate.valid_to)}")]
    if certificate.kind == "financing":
        general.append(("Номинал", format_rub(certificate.nominal)))
    else:
        general.append(("Вид", f"{certificate.kind_name} (категория «{certificate.category.name}»)"))
    general += [("Доступно", format_rub(balance.available) if balance else "—"),
                ("Зарезервировано по договорам", format_rub(balance.reserved) if balance else "—"),
                ("Списано", format_rub(balance.spent) if balance else "—"),
                ("Состояние", certificate.status_name), ("Выдан", format_date(certificate.issued_at))]
    service = [f"{p.contract.program.direction.service_code} · {p.contract.program.direction.name} · "
               f"«{p.contract.program.title}» · {p.contract.provider.full_name}, ИНН {p.contract.provider.inn}"
               for p in parts] or ["Исполнитель ещё не выбран: договор не заключён."]
    contracts: list[str] = []
    for part in parts:
        c = part.contract
        contracts.append(f"Договор № {c.number} ({c.status_name}): {format_date(c.start_month)} — "
                         f"{format_date(c.ends_on)}; оказано месяцев {part.delivered} из {len(part.months)}, "
                         f"оплачено сертификатом {format_rub(part.spent)}")
        contracts += [f"{m.month:%m.%Y}: {m.status_name}"
                      + (f", занятий {m.lessons_held} из {m.lessons_planned}" if m.lessons_planned else "")
                      + (f", оплачено {format_rub(m.spent)}" if m.spent is not None else "") for m in part.months]
    application = certificate.application
    official = get_existing(User, application.decided_by_id) if application.decided_by_id else None
    return PrintedDocument(
        title="Социальный сертификат", number=certificate.number, version=1, date=certificate.issued_at,
        date_label="Выдан", issuer=issuer(certificate.municipality), state=certificate.status_name,
        subtitle=f"на получение муниципальной услуги в социальной сфере\n{SERVICE}\n"
                 "(Федеральный закон № 189-ФЗ, постановление № 458-п от 16.05.2023)",
        parties=[authority_party(certificate.municipality, "Выдал: уполномоченный орган"),
                 Party("Потребитель услуг", child.full_name, f"дата рождения {format_date(child.birth_date)}"),
                 Party("Законный представитель", application.parent.full_name)],
        sections=[
            Section("Часть 1. Общие сведения", fields=general, paragraphs=[
                "Как проверить сертификат. Наведите камеру телефона на QR-код в конце документа и откройте "
                "ссылку: страница покажет, действует ли сертификат.",
                f"Или откройте в браузере {verify_url} и введите номер сертификата {certificate.number}. "
                "Проверка показывает только, действует ли сертификат; имя ребёнка на ней не видно."],
                notes=["Для информационных систем: QR-код подписан электронной подписью (Ed25519).",
                       f"Открытые ключи: {keys_url}", f"Подпись документа: {certificate.signature}"]),
            Section("Часть 2. Услуга и выбранный исполнитель", paragraphs=service),
            Section("Часть 3. Договор и результаты оказания услуги",
                    paragraphs=contracts or ["Договоров, заключённых по сертификату, пока нет."]),
        ],
        signatures=[Signature("Уполномоченный орган", official.full_name if official else None,
                              certificate.signature, certificate.issued_at)],
        qr_text=qr_text, filename=f"certificate-{certificate.number}")
