"""Who is told what when a document changes (certapp.common.events): one reaction per fact, each
writing a notification in the transaction of the change (and, through it, the letters)."""
from certapp.common import events
from certapp.common.money import format_rub
from certapp.common.months import month_label, month_label_from
from certapp.common.names import dative, genitive
from certapp.common.web import path_for
from certapp.jobs.services import stale_error
from certapp.notifications.services import notify, settle, subject_of

# --- certificates ----------------------------------------------------------------------------------


@events.certificate_application_submitted.connect
def application_received(application, **_):
    notify("certificate", f"Заявление № {application.number} принято",
           f"Заявление на сертификат для ребёнка {genitive(application.child)} принято. Управление образования "
           "проверит сведения и сообщит решение.",
           user_id=application.parent_id, url=path_for("certificates.my_applications"))


@events.certificate_issued.connect
def certificate_issued(certificate, **_):
    notify("certificate", f"Выдан сертификат № {certificate.number}",
           f"Ребёнку {dative(certificate.child)} выдан социальный сертификат № {certificate.number} "
           f"номиналом {format_rub(certificate.nominal)}. Выберите программу в каталоге и запишите ребёнка.",
           user_id=certificate.application.parent_id, url=path_for("certificates.certificate", certificate_id=certificate.id))


@events.certificate_queued.connect
def certificate_queued(certificate, position, **_):
    notify("certificate", f"Сертификат учёта № {certificate.number}: место в очереди {position}",
           f"Ребёнку {dative(certificate.child)} выдан сертификат учёта: финансируемые места категории "
           f"«{certificate.category.name}» заняты. Ребёнок в очереди на место, номер {position}; "
           "когда место освободится, сертификат станет сертификатом финансирования, и мы сообщим об этом.",
           user_id=certificate.application.parent_id, url=path_for("certificates.certificate", certificate_id=certificate.id))


@events.certificate_funded.connect
def certificate_funded(certificate, **_):
    notify("certificate", f"Сертификат № {certificate.number} получил финансирование",
           f"Освободилось финансируемое место категории «{certificate.category.name}»: сертификат ребёнка "
           f"{genitive(certificate.child)} стал сертификатом финансирования номиналом {format_rub(certificate.nominal)}. "
           "Распечатайте его заново: QR-код изменился.",
           user_id=certificate.application.parent_id, url=path_for("certificates.certificate", certificate_id=certificate.id))


@events.certificate_application_enrollment_not_sent.connect
def enrollment_not_sent(application, reason, **_):
    notify("enrollment", f"Заявка на обучение по заявлению № {application.number} не отправлена",
           f"Сертификат выдан, но записать ребёнка в группу «{application.wanted_group.name}» программы "
           f"«{application.wanted_group.program.title}» не удалось: {reason} Выберите программу в каталоге.",
           user_id=application.parent_id, url=path_for("programs.catalog"))


@events.certificate_application_refused.connect
def application_refused(application, **_):
    notify("certificate", f"Отказ по заявлению № {application.number}",
           f"В выдаче сертификата ребёнку {dative(application.child)} отказано. Причина: {application.decision_reason}",
           user_id=application.parent_id, url=path_for("certificates.my_applications"))


@events.certificate_application_refused_duplicate.connect
def application_refused_as_duplicate(child, period, details, **_):
    # the parent was told only to contact this department: it learns what the parent may not
    held = (f"сертификат № {details['certificate']}" if "certificate" in details
            else f"заявление № {details['application']}")
    notify("certificate", f"Родитель не смог подать заявление на {period.code} учебный год",
           f"На ребёнка (СНИЛС {child.snils_masked}, заявитель — пользователь № {child.parent_id}) уже есть {held} "
           f"({details['municipality']}) по заявлению другого законного представителя (пользователь "
           f"№ {details['guardian_id']}). Родителю предложено обратиться в управление образования.",
           role="department", municipality_id=period.municipality_id)


@events.child_correction_requested.connect
def child_correction_requested(correction, **_):
    notify("certificate", "Запрос на исправление сведений о ребёнке",
           f"Родитель просит исправить сведения о ребёнке {correction.child.full_name}, на которого выдан сертификат.",
           role="department", municipality_id=correction.municipality_id, url=path_for("certificates.corrections"),
           subject=subject_of(correction))


@events.child_correction_confirmed.connect
@events.child_correction_refused.connect
def child_correction_decided(correction, **_):
    text = ("Сведения о ребёнке исправлены, документы сертификата подписаны заново." if correction.status == "confirmed"
            else f"В исправлении сведений о ребёнке {correction.child.full_name} отказано. Причина: "
                 f"{correction.decision_reason}")
    notify("certificate", f"Исправление сведений о ребёнке: {correction.status_name.lower()}", text,
           user_id=correction.requested_by_id, url=path_for("certificates.children"))


# --- enrollments and contracts ----------------------------------------------------------------------


@events.enrollment_requested.connect
def enrollment_requested(enrollment, **_):
    notify("enrollment", f"Новая заявка на обучение: {enrollment.group.program.title}",
           f"Родитель просит записать ребёнка ({enrollment.child.age_on(enrollment.start_month)} лет) в группу "
           f"«{enrollment.group.name}» с месяца: {month_label(enrollment.start_month)}. Примите или отклоните заявку.",
           provider_id=enrollment.provider_id, url=path_for("contracts.enrollments", status="requested"),
           subject=subject_of(enrollment))


@events.contract_offered.connect
def contract_offered(contract, **_):
    money = (f"Сертификат оплатит {format_rub(contract.certificate_part)}, ваша часть — "
             f"{format_rub(contract.parent_part)}. Откройте договор и подпишите его")
    if contract.prolonged_from_id:
        notify("contract", f"Продление обучения: договор № {contract.number}",
               f"Программа «{contract.program.title}» продолжается в следующем учебном году: предлагаем договор "
               f"по сертификату № {contract.certificate.number} с {month_label_from(contract.start_month)}. {money} "
               f"или откажитесь до {contract.offer_expires_on:%d.%m.%Y}; неподписанное предложение истечёт.",
               user_id=contract.parent_id, url=path_for("contracts.contract", contract_id=contract.id),
               subject=subject_of(contract))
        return
    notify("enrollment", f"Заявка принята: подпишите договор № {contract.number}",
           f"Исполнитель принял заявку на программу «{contract.program.title}». {money}.",
           user_id=contract.parent_id, url=path_for("contracts.contract", contract_id=contract.id),
           subject=subject_of(contract))


@events.enrollment_declined.connect
def enrollment_declined(enrollment, **_):
    notify("enrollment", f"Заявка на обучение отклонена: {enrollment.group.program.title}",
           f"Исполнитель отклонил заявку. Причина: {enrollment.decline_reason}",
           user_id=enrollment.parent_id, url=path_for("contracts.enrollments"))


@events.contract_active.connect
def contract_signed(contract, **_):
    notify("contract", f"Договор № {contract.number} подписан",
           f"Родитель подписал договор по программе «{contract.program.title}». Обучение с месяца: "
           f"{month_label(contract.start_month)}.",
           provider_id=contract.provider_id, url=path_for("contracts.contract", contract_id=contract.id))


@events.contract_rejected.connect
def contract_rejected(contract, **_):
    notify("contract", f"Договор № {contract.number} не подписан",
           f"Родитель отказался от договора по программе «{contract.program.title}»; место в группе свободно.",
           provider_id=contract.provider_id, url=path_for("contracts.contract", contract_id=contract.id))


@events.contract_lapsed.connect
def contract_lapsed(contract, **_):
    title = f"Договор № {contract.number} не подписан в срок"
    text = (f"Договор по программе «{contract.program.title}» не был подписан до "
            f"{contract.offer_expires_on:%d.%m.%Y}: предложение отозвано, место в группе освобождено.")
    url = path_for("contracts.contract", contract_id=contract.id)
    notify("contract", title, text, user_id=contract.parent_id, url=url)
    notify("contract", title, text, provider_id=contract.provider_id, url=url)


@events.contract_notice_given.connect
def contract_notice_given(contract, actor=None, **_):
    text = (f"Подано уведомление о расторжении договора по программе «{contract.program.title}» "
            f"({contract.grounds_name.lower()}): договор действует до {contract.ends_on:%d.%m.%Y}, этот месяц "
            f"оплачивается. Причина: {contract.termination_reason}")
    title, url = f"Договор № {contract.number}: расторжение", path_for("contracts.contract", contract_id=contract.id)
    role = getattr(actor, "role", None)
    if role != "parent":
        notify("contract", title, text, user_id=contract.parent_id, url=url)
    if role != "provider":
        notify("contract", title, text, provider_id=contract.provider_id, url=url)


@events.contract_terminated.connect
def contract_terminated(contract, **_):
    text = (f"Договор по программе «{contract.program.title}» окончен {contract.ends_on:%d.%m.%Y} по уведомлению о "
            f"расторжении; резерв сертификата за месяцы с {month_label_from(contract.terminated_from)} возвращён.")
    title, url = f"Договор № {contract.number} расторгнут", path_for("contracts.contract", contract_id=contract.id)
    notify("contract", title, text, user_id=contract.parent_id, url=url)
    notify("contract", title, text, provider_id=contract.provider_id, url=url)


@events.contract_month_reported.connect
def month_reported(report, **_):
    contract = report.contract
    delivered = report.amount if report.ledger_entry_id else 0
    text = (f"Исполнитель отчитался за {month_label(report.month)} по договору № {contract.number} "
            f"(«{contract.program.title}»): "
            + (f"занятия проведены, с сертификата списано {format_rub(delivered)}." if report.delivered
               else f"занятия не проведены ({report.reason}); сумма месяца возвращена на сертификат."))
    notify("contract", f"Отчёт за {month_label(report.month)}: {contract.program.title}", text,
           user_id=contract.parent_id, url=path_for("contracts.contract", contract_id=contract.id))


# --- the registry and programs ----------------------------------------------------------------------


@events.registry_application_submitted.connect
def registry_application_submitted(application, **_):
    notify("registry", f"Заявка в реестр № {application.number}: {application.short_name}",
           f"Исполнитель {application.short_name} (ИНН {application.inn}) подал заявку на включение в реестр.",
           role="department", municipality_id=application.municipality_id,
           url=path_for("registry.application", application_id=application.id), subject=subject_of(application))


@events.admission_requested.connect
def admission_requested(admission, **_):
    notify("registry", f"Запрос на допуск: {admission.provider.short_name}",
           f"Исполнитель из реестра (ИНН {admission.provider.inn}) просит допуска в муниципальном образовании "
           f"«{admission.municipality.name}».", role="department", municipality_id=admission.municipality_id,
           url=path_for("registry.admissions", status="requested"), subject=subject_of(admission))


@events.admission_active.connect
@events.admission_refused.connect
@events.admission_suspended.connect
@events.admission_ended.connect
def admission_decided(admission, from_status=None, **_):
    if from_status is None:
        return
    text = f"Основание: {admission.reason}" if admission.reason else ""
    notify("registry", f"Допуск в муниципальном образовании «{admission.municipality.name}»: "
                       f"{admission.status_name.lower()}", text, provider_id=admission.provider_id,
           url=path_for("registry.admissions"))


def _registry_decision(application, title: str, text: str) -> None:
    notify("registry", title, text, user_id=application.applicant_id,
           url=path_for("registry.application", application_id=application.id))


@events.registry_application_approved.connect
def registry_application_approved(application, **_):
    _registry_decision(application, f"Заявка № {application.number} одобрена",
                       f"{application.short_name} включён в реестр исполнителей. Теперь можно добавлять программы.")


@events.registry_application_returned.connect
def registry_application_returned(application, **_):
    _registry_decision(application, f"Заявка № {application.number} возвращена на доработку",
                       f"Замечания: {application.decision_reason}")


@events.registry_application_rejected.connect
def registry_application_rejected(application, **_):
    _registry_decision(application, f"Отказ во включении в реестр по заявке № {application.number}",
                       f"Основание: {application.decision_reason}")


@events.program_submitted.connect
def program_submitted(program, **_):
    for municipality in program.municipalities:
        notify("program", f"Программа на согласовании: {program.title}",
               f"Исполнитель {program.provider.short_name} направил программу на согласование.",
               role="department", municipality_id=municipality.id, url=path_for("programs.program", program_id=program.id),
               subject=subject_of(program))


@events.program_published.connect
def program_published(program, **_):
    notify("program", f"Программа опубликована: {program.title}", "Программа видна родителям в каталоге.",
           provider_id=program.provider_id, url=path_for("programs.program", program_id=program.id))


@events.program_returned.connect
def program_returned(program, details=None, **_):
    reason = (details or {}).get("reason")
    notify("program", f"Программа возвращена на доработку: {program.title}",
           f"Замечания: {reason}" if reason else "Исправьте программу и направьте её снова.",
           provider_id=program.provider_id, url=path_for("programs.my_programs"))


# --- bookkeeping and feedback -------------------------------------------------------------------------


@events.agreement_to_sign.connect
def agreement_to_sign(agreement, **_):
    what = "Соглашение" if agreement.version == 1 else f"Дополнительное соглашение (редакция {agreement.version})"
    notify("bookkeeping", f"Соглашение № {agreement.number} ждёт вашей подписи",
           f"{what} о финансовом обеспечении затрат подписано уполномоченным органом. Прочитайте и подпишите его: "
           "по соглашению, подписанному обеими сторонами, услуги по сертификатам оплачиваются по реестрам.",
           provider_id=agreement.provider_id, url=path_for("bookkeeping.agreement", agreement_id=agreement.id),
           subject=subject_of(agreement))


@events.agreement_provider_signed.connect
def agreement_signed_by_provider(agreement, **_):
    notify("bookkeeping", f"Исполнитель подписал соглашение № {agreement.number}",
           f"{agreement.provider.short_name} подписал редакцию {agreement.version}: соглашение действует.",
           role="bookkeeping", municipality_id=agreement.municipality_id,
           url=path_for("bookkeeping.agreement", agreement_id=agreement.id))


@events.payment_register_approved.connect
def register_approved(register, **_):
    notify("bookkeeping", f"Реестр на оплату № {register.number} утверждён",
           f"Реестр за {month_label(register.month)} на сумму {format_rub(register.total)} утверждён и будет оплачен.",
           provider_id=register.provider_id, url=path_for("bookkeeping.register", register_id=register.id))


@events.payment_register_paid.connect
def register_paid(register, **_):
    notify("bookkeeping", f"Реестр № {register.number} оплачен",
           f"Оплата за {month_label(register.month)}: {format_rub(register.total)}"
           + (f", платёжное поручение № {register.payment_order_number}." if register.payment_order_number else "."),
           provider_id=register.provider_id, url=path_for("bookkeeping.register", register_id=register.id))


@events.feedback_answered.connect
def feedback_answered(feedback, **_):
    notify("feedback", f"Исполнитель ответил на отзыв: {feedback.contract.program.title}", feedback.answer,
           user_id=feedback.parent_id, url=path_for("reporting.feedback"))


# --- jobs ---------------------------------------------------------------------------------------------


@events.job_failed_stale.connect
def job_failed_stale(job, **_):
    """A notification (and a letter, if they take them) to whoever started the job."""
    if job.created_by_id is None:
        return
    notify("system", f"Задание не выполнено: {job.title}", stale_error(job), user_id=job.created_by_id,
           url=path_for("jobs.job", job_id=job.id))


# --- a decided matter settles the notifications that asked to act on it ------------------------------------
#: event -> what was decided, as the settled notification says it («решено: заявка одобрена»)
SETTLED_BY = {
    "child_correction.confirmed": "сведения исправлены",
    "child_correction.refused": "в исправлении отказано",
    "contract.offered": "заявка принята, предложен договор",
    "enrollment.declined": "заявка отклонена",
    "contract.active": "договор подписан",
    "contract.rejected": "от договора отказались",
    "contract.lapsed": "договор не подписан в срок",
    "registry_application.approved": "заявка одобрена",
    "registry_application.returned": "заявка возвращена на доработку",
    "registry_application.rejected": "во включении в реестр отказано",
    "admission.active": "допуск предоставлен",
    "admission.refused": "в допуске отказано",
    "program.published": "программа опубликована",
    "program.returned": "программа возвращена на доработку",
    "agreement.provider_signed": "соглашение подписано",
}


def _settle_on(name: str, outcome: str) -> None:
    def settled(subject, **_):
        # an accepted enrollment is announced as its contract's offer: the enrollment is what was asked
        enrollment = getattr(subject, "enrollment", None) if name == "contract.offered" else None
        settle(subject_of(enrollment or subject), outcome)
    settled.__name__ = f"settle_{name.replace('.', '_')}"
    events.DECLARED[name].connect(settled, weak=False)  # a closure: nothing else holds it


for _name, _outcome in SETTLED_BY.items():
    _settle_on(_name, _outcome)
