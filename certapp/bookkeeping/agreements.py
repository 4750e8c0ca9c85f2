"""Agreements between a municipality and a provider: drafting, concluding, amending, the provider's
acceptance and the end; which one is in force in a month."""
import json
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.bookkeeping.models import AGREEMENT_TRANSITIONS, REGISTER_TRANSITIONS, Agreement, AgreementVersion, PaymentRegister
from certapp.common import clock, events
from certapp.common.errors import DomainError, NotFoundError, TransitionError, ValidationError
from certapp.common.months import add_months
from certapp.common.roles import require_role
from certapp.common.states import transition
from certapp.common.validators import free_text
from certapp.db import db, utcnow
from certapp.documents.services import canonical, next_number, sign_document
from certapp.registry.models import Provider


class AgreementRequiredError(DomainError):
    code = "agreement_required"
    status = 409


def prepare_agreement(provider_id: int, municipality_id: int, actor: User | None = None) -> Agreement:
    """A draft agreement of a municipality with a provider it has just admitted (called on the
    admission): each municipality pays a provider under its own agreement."""
    agreement = Agreement(provider_id=provider_id, municipality_id=municipality_id, status="draft")
    db.session.add(agreement)
    record_event("agreement.draft", agreement, to_state="draft", actor=actor,
                 details={"provider_id": provider_id, "municipality_id": municipality_id})
    return agreement


def visible_agreements(user: User | None = None) -> Select[Agreement]:
    """The agreements a user may see, in one place for every list and get: a provider its own (in every
    municipality that pays it), an official those of their municipality (the scope limits them);
    no user: the caller's rule decides (bookkeeping's services require their role first)."""
    stmt = select(Agreement)
    if user is not None and user.role == "provider":
        stmt = stmt.where(Agreement.provider_id == (user.provider_id or -1))
    return stmt


def get_agreement(agreement_id: int, user: User | None = None) -> Agreement:
    agreement = db.session.execute(visible_agreements(user).where(Agreement.id == agreement_id)).scalar_one_or_none()
    if agreement is None:
        raise NotFoundError("Соглашение не найдено.")
    return agreement


def agreements_query(status: str | None = None, user: User | None = None) -> Select[Agreement]:
    stmt = (visible_agreements(user).join(Provider).order_by(Agreement.status, Provider.short_name, Agreement.id)
            .options(selectinload(Agreement.provider)))  # what each row shows, for all rows at once
    return stmt.where(Agreement.status == status) if status else stmt


def agreements_to_sign(user: User) -> Select[Agreement]:
    """The provider's agreements whose current version waits for its signature."""
    return visible_agreements(user).where(Agreement.status == "concluded", or_(
        Agreement.provider_signed_version.is_(None), Agreement.provider_signed_version < Agreement.version))


def _term(valid_from: date | None, valid_to: date | None) -> None:
    if not isinstance(valid_from, date):
        raise ValidationError("Укажите дату начала действия соглашения.", field="valid_from")
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError("Окончание действия раньше начала.", field="valid_to")


#: the subject of the agreement (458-п п. 6.1.4; постановление 677 п. 3): what its content names
AGREEMENT_SUBJECT = ("Финансовое обеспечение (возмещение) затрат исполнителя услуг, связанных с оказанием "
                     "муниципальной услуги в социальной сфере «Реализация дополнительных общеразвивающих программ» "
                     "в соответствии с социальными сертификатами, в пределах объёма, указанного в соглашении")
#: the day of the next month by which a month is paid (the final invoice and the register)
PAYMENT_DAY = 10


def payment_terms(agreement: Agreement) -> str:
    """How and when the provider is paid, as the agreement says it."""
    day = agreement.payment_day or PAYMENT_DAY
    advance = (f"аванс — {agreement.advance_percent} % суммы месяца по договорам, действующим на 1-е число месяца "
               "(авансовый счёт с 1-го числа месяца); " if agreement.advance_percent else "")
    return (f"Ежемесячно по реестру на оплату: {advance}окончательный расчёт — итоговым счётом после окончания "
            "месяца по доле фактически оказанных услуг (проведённых занятий) за вычетом аванса, на основании "
            f"отчётов исполнителя; оплата не позднее {day}-го числа следующего месяца на расчётный счёт "
            "исполнителя.")


def agreement_content(agreement: Agreement) -> dict[str, Any]:
    """The canonical content of the agreement document, as both parties sign it: the parties (the
    municipality's authorised body and the provider), the subject, the volume, the money terms, the
    term and the bank details."""
    p, m = agreement.provider, agreement.municipality
    return {"number": agreement.number, "version": agreement.version,
            "parties": {"authority": {"name": m.authority or m.name, "municipality": m.name, "oktmo": m.oktmo,
                                      "order": m.order or None},
                        "provider": {"inn": p.inn, "name": p.full_name, "head": f"{p.head_position} {p.head_name}"}},
            "subject": AGREEMENT_SUBJECT,
            "volume": {"children": agreement.volume_children, "amount_limit": agreement.amount_limit},
            "payment": {"advance_percent": agreement.advance_percent, "payment_day": agreement.payment_day,
                        "terms": payment_terms(agreement)},
            "concluded_on": agreement.concluded_on, "valid_from": agreement.valid_from,
            "valid_to": agreement.valid_to, "bik": agreement.bik, "settlement_account": agreement.settlement_account}


def legacy_agreement_content(agreement: Agreement) -> dict[str, Any]:
    """The content agreements were signed over before the provider signed them too (migration 0034):
    what /documents/verify checks for those that have no version as signed."""
    p = agreement.provider
    return {"number": agreement.number, "version": agreement.version, "provider": {"inn": p.inn, "name": p.full_name},
            "concluded_on": agreement.concluded_on, "valid_from": agreement.valid_from,
            "valid_to": agreement.valid_to, "bik": agreement.bik, "settlement_account": agreement.settlement_account}


def current_version(agreement: Agreement) -> AgreementVersion | None:
    """The current version as signed (None for an agreement concluded before versions were kept)."""
    return next((v for v in agreement.versions if v.version == agreement.version), None)


def signed_content(agreement: Agreement) -> dict[str, Any]:
    """What the authorised body's signature covers: the current version's content as signed."""
    version = current_version(agreement)
    return version.content if version is not None else legacy_agreement_content(agreement)


def check_volume(volume_children: object, amount_limit: object) -> tuple[int | None, int | None]:
    """An agreement's volume: the number of certificates and the money limit, each positive or empty."""
    return (_limit(volume_children, "volume_children", "Число сертификатов (детей)"),
            _limit(amount_limit, "amount_limit", "Предельный объём средств"))


def _limit(value: object, name: str, label: str) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0
                              or value >= 10**13):
        raise ValidationError(f"{label} — целое положительное число или пусто (не ограничено).", field=name)
    return value


def _sign_version(agreement: Agreement, actor: User) -> AgreementVersion:
    """The authorised body signs the agreement's current content (bookkeeping concludes or amends for the
    department): the signature on the agreement, and the version kept as signed for the provider to sign."""
    content = agreement_content(agreement)
    agreement.signature = sign_document(content)
    version = AgreementVersion(agreement=agreement, version=agreement.version, content=json.loads(canonical(content)),
                               valid_from=agreement.valid_from, valid_to=agreement.valid_to,
                               signature=agreement.signature, signed_at=utcnow(), signed_by_id=actor.id,
                               municipality_id=agreement.municipality_id)
    db.session.add(version)
    return version


def conclude_agreement(agreement_id: int, actor: User, valid_from: date, valid_to: date | None,
                       concluded_on: date | None = None, volume_children: int | None = None,
                       amount_limit: int | None = None) -> Agreement:
    """Bookkeeping concludes a draft for the authorised body: number, date, term, volume, the money terms
    (the advance's share, the payment day), the bank details copied from the registry, the authority's
    signature. The agreement comes into force when the provider signs it too (accept_agreement)."""
    require_role(actor, "bookkeeping")
    agreement = get_agreement(agreement_id)
    _term(valid_from, valid_to)
    volume_children, amount_limit = check_volume(volume_children, amount_limit)
    if not agreement.provider.in_registry:
        raise TransitionError("Исполнитель не состоит в реестре: соглашение заключить нельзя.")
    _transition(agreement, "concluded", actor)
    agreement.number = next_number("agreement")
    agreement.concluded_on = concluded_on or clock.today()
    agreement.valid_from, agreement.valid_to = valid_from, valid_to
    agreement.volume_children, agreement.amount_limit = volume_children, amount_limit
    agreement.advance_percent, agreement.payment_day = advance_percent(), PAYMENT_DAY
    agreement.bik, agreement.settlement_account = agreement.provider.bik, agreement.provider.settlement_account
    _sign_version(agreement, actor)
    events.agreement_to_sign.send(agreement, actor=actor)
    return agreement


#: amend_agreement's volume arguments left out: the volume stays as it is
UNCHANGED = object()


def amend_agreement(agreement_id: int, actor: User, valid_from: date, valid_to: date | None,
                    volume_children: object = UNCHANGED, amount_limit: object = UNCHANGED) -> Agreement:
    """A supplementary agreement: a new term (and volume, when given) and the registry's current bank
    details, as a new version signed by the authorised body. It takes effect when the provider signs it;
    until then the agreement stays in force on the term of the last version both signed."""
    require_role(actor, "bookkeeping")
    agreement = get_agreement(agreement_id)
    if agreement.status != "concluded":
        raise TransitionError("Изменить можно только заключённое соглашение.")
    _term(valid_from, valid_to)
    volume_children, amount_limit = check_volume(
        agreement.volume_children if volume_children is UNCHANGED else volume_children,
        agreement.amount_limit if amount_limit is UNCHANGED else amount_limit)
    before = signed_content(agreement)
    agreement.valid_from, agreement.valid_to = valid_from, valid_to
    agreement.volume_children, agreement.amount_limit = volume_children, amount_limit
    agreement.bik, agreement.settlement_account = agreement.provider.bik, agreement.provider.settlement_account
    agreement.version += 1
    _sign_version(agreement, actor)
    record_event("agreement.amend", agreement, from_state=f"v{agreement.version - 1}",
                 to_state=f"v{agreement.version}", actor=actor, details={"before": before})
    events.agreement_to_sign.send(agreement, actor=actor)
    return agreement


def provider_acceptance_content(agreement: Agreement, version: AgreementVersion) -> dict[str, Any]:
    """What the provider's signature covers: the version's content as the authority signed it, that
    signature, and who signed for the provider and when."""
    return {"agreement": agreement.number, "version": version.version, "content": version.content,
            "authority_signature": version.signature, "provider": agreement.provider.inn,
            "signed_at": version.provider_signed_at, "signed_by": version.provider_signed_by_id}


def accept_agreement(agreement_id: int, provider_user: User) -> Agreement:
    """The provider signs (accepts) the agreement's current version, concluded and signed by the
    authorised body: with both signatures it is in force on that version's term (458-п п. 6.1.4). A
    repeated request signs nothing twice. Raises NotFoundError (not its agreement), TransitionError (a
    draft, or ended)."""
    require_role(provider_user, "provider")
    agreement = get_agreement(agreement_id, provider_user)
    if agreement.status == "draft":
        raise TransitionError("Соглашение ещё не подписано уполномоченным органом: подписать его нельзя.",
                              code="agreement_not_offered")
    if agreement.status != "concluded":
        raise TransitionError(f"Соглашение {agreement.status_name.lower()}: подписать его нельзя.",
                              code="agreement_ended")
    if not agreement.awaits_provider:
        return agreement  # a retried or double-clicked signing: already done
    version = current_version(agreement)
    if version is None:  # every version since migration 0034 is kept; an older one was taken as signed
        raise TransitionError("Редакция соглашения не найдена.")
    version.provider_signed_at, version.provider_signed_by_id = utcnow(), provider_user.id
    version.provider_signature = sign_document(provider_acceptance_content(agreement, version))
    before = agreement.provider_signed_version
    agreement.provider_signed_version = agreement.version
    agreement.in_force_from, agreement.in_force_to = version.valid_from, version.valid_to
    record_event("agreement.provider_signed", agreement, from_state=f"v{before}" if before else "concluded",
                 to_state=f"v{agreement.version}", actor=provider_user,
                 details={"version": agreement.version, "provider_id": agreement.provider_id})
    events.agreement_provider_signed.send(agreement, actor=provider_user)
    return agreement


def end_agreement(agreement_id: int, actor: User, ended_on: date, reason: str) -> Agreement:
    require_role(actor, "bookkeeping")
    agreement = get_agreement(agreement_id)
    reason = free_text(reason, "Укажите основание прекращения.")
    if not isinstance(ended_on, date):
        raise ValidationError("Укажите дату прекращения.", field="ended_on")
    _transition(agreement, "ended", actor, reason)
    agreement.ended_on, agreement.end_reason = ended_on, reason
    agreement.valid_to = min(filter(None, (agreement.valid_to, ended_on)))
    if agreement.in_force_from is not None:
        agreement.in_force_to = min(filter(None, (agreement.in_force_to, ended_on)))
    return agreement


def _transition(obj: Agreement | PaymentRegister, to_status: str, actor: User, reason: str | None = None) -> None:
    agreement = isinstance(obj, Agreement)
    transition(obj, to_status, AGREEMENT_TRANSITIONS if agreement else REGISTER_TRANSITIONS, actor,
               event="agreement" if agreement else "payment_register", refusal="Нельзя перевести из состояния «{status}».",
               details={"reason": reason} if reason else None)


def agreement_in_force(provider_id: int, municipality_id: int, month: date) -> Agreement | None:
    agreement = db.session.execute(select(Agreement).where(
        Agreement.provider_id == provider_id, Agreement.municipality_id == municipality_id,
        Agreement.status == "concluded")).scalar_one_or_none()
    last = add_months(month, 1) - timedelta(days=1)
    return agreement if agreement is not None and agreement.in_force_during(month, last) else None


def advance_percent() -> int:
    """The advance's share of a month, per cent (configuration ADVANCE_PERCENT, default 80)."""
    percent = int(current_app.config["ADVANCE_PERCENT"])  # config.DEFAULTS holds the 80 %
    if not 0 <= percent <= 100:
        raise RuntimeError(f"ADVANCE_PERCENT must be from 0 to 100, not {percent}")
    return percent
