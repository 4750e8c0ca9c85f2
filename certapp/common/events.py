"""Domain events, every one declared here: a feature announces what happened and other features
react without the announcer importing them, so imports keep pointing down the layers (README, «How
the code is laid out»): the registry announces `admission_active`; bookkeeping, which builds on the
registry, reacts by preparing the agreement; audit records every `state_changed`.

Each event is a named blinker signal. An announcer sends it with the subject (a model instance) and
keyword data: `events.certificate_issued.send(certificate, actor=actor)`; a reaction connects a
function taking (subject, **data) in its feature's `reactions.py`, imported by create_app through
certapp.tasks: `@events.certificate_issued.connect`. Grep the attribute name to find both sides;
tests/test_imports.py checks that every event with a reaction is announced somewhere.

Reactions run at once, inside the announcer's transaction: what they change commits or rolls back
with the change they react to (a refused row of a bulk action, rolled back to its savepoint, takes
its reactions with it). Work that must leave the process — a letter — is written by a reaction as
an outbox row and sent by the job queue after the commit (certapp.mail).

A document's state transition (certapp.common.states.transition) sends `state_changed` and then the
event named "<document>.<new status>" when one is declared below (`contract_active` is
"contract.active"); other facts are sent by name where they happen.
"""
from blinker import NamedSignal, Namespace

#: every declared event by its name ("contract.active")
DECLARED = Namespace()


def _event(name: str, doc: str) -> NamedSignal:
    return DECLARED.signal(name, doc)


def declared(name: str) -> NamedSignal | None:
    """The event called `name` if one is declared (a transition without a declared event sends none)."""
    return DECLARED.get(name)


# --- any document, any request ------------------------------------------------------------------
state_changed = _event("state.changed", "A document moved between statuses: (document, event=\"contract.active\", "
                       "from_status, to_status, actor, details). Audit records it.")
request_refused = _event("request.refused", "A request was refused for want of a right: (None, reason). Audit records "
                         "it in a transaction of its own.")
job_failed_stale = _event("job.failed_stale", "A job's worker died too many times: (job). Its owner is told.")

# --- reference data ----------------------------------------------------------------------------------
reference_data_loaded = _event("reference_data.loaded", "The installation's reference data was loaded (None): "
                               "a feature with reference data of its own adds what is missing and returns "
                               "(name, how many rows it added).")
certificate_category_changed = _event("certificate_category.changed", "A category's limit or nominal changed: "
                                      "(category, actor).")

# --- certificates ----------------------------------------------------------------------------------
certificate_application_submitted = _event("certificate_application.submitted", "(application, actor)")
certificate_application_confirmed = _event("certificate_application.confirmed", "transition (application)")
certificate_application_refused = _event("certificate_application.refused", "transition (application)")
certificate_application_refused_duplicate = _event(
    "certificate_application.refused_duplicate",
    "A parent could not apply: the child holds a certificate through another guardian: (child, period, details).")
certificate_application_enrollment_not_sent = _event(
    "certificate_application.enrollment_not_sent",
    "The enrollment asked for in a certificate application could not be sent: (application, reason).")
certificate_issued = _event("certificate.issued", "A certificate of funding was issued: (certificate, actor).")
certificate_queued = _event("certificate.queued", "A certificate of record was issued, the child queued: "
                            "(certificate, actor, position).")
certificate_funded = _event("certificate.funded", "A queued certificate got a funded place: (certificate, actor).")
child_correction_requested = _event("child_correction.requested", "(correction, actor)")
child_correction_confirmed = _event("child_correction.confirmed", "transition (correction)")
child_correction_refused = _event("child_correction.refused", "transition (correction)")

# --- enrollments and contracts -------------------------------------------------------------------------
enrollment_requested = _event("enrollment.requested", "(enrollment, actor)")
enrollment_declined = _event("enrollment.declined", "transition (enrollment)")
contract_offered = _event("contract.offered", "(contract, actor)")
contract_active = _event("contract.active", "transition: the parent signed (contract)")
contract_rejected = _event("contract.rejected", "transition: the parent refused (contract)")
contract_lapsed = _event("contract.lapsed", "transition: the offer expired unsigned (contract)")
contract_terminated = _event("contract.terminated", "transition: ended by a notice (contract)")
contract_notice_given = _event("contract.notice_given", "(contract, actor)")
contract_month_reported = _event("contract.month_reported", "(service report, actor)")

# --- the registry and programs -----------------------------------------------------------------------
registry_application_submitted = _event("registry_application.submitted", "transition (application)")
registry_application_approved = _event("registry_application.approved", "transition (application)")
registry_application_returned = _event("registry_application.returned", "transition (application)")
registry_application_rejected = _event("registry_application.rejected", "transition (application)")
registry_entry_created = _event("registry_entry.created", "A provider entered the registry: (entry, actor).")
admission_requested = _event("admission.requested", "(admission, actor)")
admission_active = _event("admission.active", "transition (admission, from_status)")
admission_refused = _event("admission.refused", "transition (admission, from_status)")
admission_suspended = _event("admission.suspended", "transition (admission, from_status)")
admission_ended = _event("admission.ended", "transition (admission, from_status)")
program_submitted = _event("program.submitted", "transition (program)")
program_published = _event("program.published", "transition (program)")
program_returned = _event("program.returned", "transition (program, details)")
study_group_capacity_set = _event("study_group.capacity_set", "A provider is changing a group's capacity: (group, "
                                  "capacity). A reaction may refuse it with a ValidationError on the field.")

# --- bookkeeping and feedback --------------------------------------------------------------------------
agreement_to_sign = _event("agreement.to_sign", "(agreement, actor)")
agreement_provider_signed = _event("agreement.provider_signed", "(agreement, actor)")
payment_register_approved = _event("payment_register.approved", "transition (register)")
payment_register_paid = _event("payment_register.paid", "transition (register)")
feedback_answered = _event("feedback.answered", "(feedback, actor)")
