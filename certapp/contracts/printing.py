"""The enrollment contract (document 6 of п. 6.1) as printed, and the certificate with its contracts' parts:
the common layout (certapp/common/printing.py)."""
from flask import url_for

from certapp.certificates import services as certificates
from certapp.certificates.models import Certificate
from certapp.certificates.printing import certificate_document
from certapp.common.money import format_rub
from certapp.common.printing import Party, PrintedDocument, Section, Signature, Table
from certapp.common.templating import format_date
from certapp.common.web import absolute_url
from certapp.contracts.contracts import certificate_parts, current_split
from certapp.contracts.models import Contract
from certapp.documents.printing import bank_details, issuer, provider_party
from certapp.ledger.services import balance_of

#: a contract is never amended (a prolongation is a contract of its own): it has one version
CONTRACT_VERSION = 1


def contract_document(contract: Contract) -> PrintedDocument:
    split = current_split(contract)
    program, child = contract.program, contract.child
    signed = contract.signed_at is not None
    return PrintedDocument(
        title="Договор об образовании", number=contract.number, version=CONTRACT_VERSION,
        date=contract.signed_at or contract.offered_at, date_label="Заключён" if signed else "Предложен",
        issuer=issuer(contract.municipality), state=contract.status_name,
        subtitle="на обучение по дополнительной общеразвивающей программе\n"
                 "с оплатой социальным сертификатом (Федеральный закон № 189-ФЗ)",
        parties=[provider_party(contract.provider),
                 Party("Заказчик (законный представитель)", contract.parent.full_name),
                 Party("Обучающийся", child.full_name, f"дата рождения {format_date(child.birth_date)}")],
        sections=[
            Section("1. Предмет договора", fields=[
                ("Программа", f"«{program.title}»"),
                ("Направленность", f"{program.direction.name} (реестровый номер услуги "
                                   f"{program.direction.service_code})"),
                ("Группа", contract.group.name),
                ("Срок обучения", f"с {format_date(contract.start_month)} по {format_date(contract.ends_on)}"),
                ("Социальный сертификат", contract.certificate.number),
            ]),
            Section("2. Стоимость и оплата", fields=[
                ("Стоимость в месяц", format_rub(contract.price_per_month)),
                ("Полная стоимость", format_rub(split.total)),
                ("Оплачивается сертификатом", format_rub(split.certificate_part)),
                ("Оплачивает заказчик", format_rub(split.parent_part)),
            ], paragraphs=["Средства сертификата перечисляются исполнителю уполномоченным органом по отчёту о "
                           "проведённых занятиях; часть месяца, не покрытую сертификатом, оплачивает заказчик."],
                table=Table(["Месяц", "Стоимость", "Сертификатом", "Заказчиком"],
                            [[f"{s.month:%m.%Y}", format_rub(s.price), format_rub(s.certificate_amount),
                              format_rub(s.parent_amount)] for s in split.shares],
                            widths=(25, 25, 25, 25), numeric=(1, 2, 3),
                            totals=["Итого", format_rub(split.total), format_rub(split.certificate_part),
                                    format_rub(split.parent_part)])),
            Section("3. Реквизиты исполнителя", paragraphs=[bank_details(contract.provider)]),
        ],
        signatures=[Signature("Заказчик (законный представитель)", contract.parent.full_name, contract.signature,
                              contract.signed_at)] if signed else [],
        filename=f"contract-{contract.number}")


def printed_certificate(certificate: Certificate) -> PrintedDocument:
    """The certificate in its three parts, with its balance, its contracts and the links a parent checks it
    at (the signed QR code, the page taking the number, the public keys)."""
    return certificate_document(certificate, balance_of(certificate.id), certificate_parts(certificate.id),
                                qr_text=certificates.qr_link(certificate),
                                verify_url=absolute_url(url_for("certificates.verify")),
                                keys_url=absolute_url(url_for("documents.jwks")))
