"""The agreement between the authorised body and a provider (document 4 of п. 6.1) as printed: the common
layout (certapp/common/printing.py), its current version with both parties' signatures."""
from certapp.bookkeeping.agreements import AGREEMENT_SUBJECT, current_version, payment_terms
from certapp.bookkeeping.models import Agreement
from certapp.common.money import format_rub
from certapp.common.printing import PrintedDocument, Section, Signature
from certapp.common.templating import format_date
from certapp.documents.printing import authority_party, issuer, provider_party


def _volume(agreement: Agreement) -> str:
    parts = ([f"{agreement.volume_children} сертификатов (детей)"] if agreement.volume_children else []) + (
        [f"не более {format_rub(agreement.amount_limit)}"] if agreement.amount_limit else [])
    return "; ".join(parts) or "не ограничен: в пределах средств сертификатов, выданных в муниципальном образовании"


def _term(agreement: Agreement) -> str:
    if agreement.valid_from is None:
        return "не установлен (проект)"
    end = f" по {format_date(agreement.valid_to)}" if agreement.valid_to else " без срока окончания"
    return f"с {format_date(agreement.valid_from)}{end}"


def agreement_document(agreement: Agreement) -> PrintedDocument:
    version = current_version(agreement)
    authority = authority_party(agreement.municipality)
    provider = provider_party(agreement.provider)
    signatures = []
    if agreement.signature:
        signatures.append(Signature(f"{authority.role} — {authority.name}",
                                    version.signed_by.full_name if version and version.signed_by else None,
                                    agreement.signature, version.signed_at if version else None))
        signatures.append(Signature(f"{provider.role} — {provider.name}",
                                    version.provider_signed_by.full_name if version and version.provider_signed_by
                                    else None, version.provider_signature if version else None,
                                    version.provider_signed_at if version else None))
    bank = (f"БИК {agreement.bik}, расчётный счёт {agreement.settlement_account}" if agreement.bik
            else f"БИК {agreement.provider.bik}, расчётный счёт {agreement.provider.settlement_account}")
    return PrintedDocument(
        title="Соглашение о финансовом обеспечении (возмещении) затрат", number=agreement.number or "без номера",
        version=agreement.version, date=agreement.concluded_on or agreement.created_at,
        date_label="Заключено" if agreement.concluded_on else "Подготовлено",
        issuer=issuer(agreement.municipality), state=agreement.state_name,
        subtitle="связанных с оказанием муниципальной услуги в социальной сфере в соответствии с социальными "
                 "сертификатами\n(п. 6.1.4 постановления № 458-п)",
        parties=[authority, provider],
        sections=[
            Section("1. Предмет соглашения", paragraphs=[AGREEMENT_SUBJECT + "."]),
            Section("2. Объём и срок", fields=[("Объём", _volume(agreement)), ("Срок действия", _term(agreement)),
                                               *([("Прекращено", f"{format_date(agreement.ended_on)}: "
                                                                 f"{agreement.end_reason or ''}")]
                                                 if agreement.ended_on else [])]),
            Section("3. Порядок оплаты", paragraphs=[payment_terms(agreement)]),
            Section("4. Реквизиты исполнителя", paragraphs=[bank]),
        ],
        signatures=signatures,
        filename=f"agreement-{agreement.number or agreement.id}")
