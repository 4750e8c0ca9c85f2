from typing import cast

from marshmallow import Schema, fields, validate

from certapp.certificates.models import (
    APPLICATION_STATUSES,
    CERTIFICATE_STATUSES,
    CORRECTION_STATUSES,
    Certificate,
    CertificateApplication,
)
from certapp.certificates.services import queue_position
from certapp.common.money import format_rub
from certapp.common.schemas import (
    BODY_ID,
    NO_SUCH_STATE,
    BulkIdsField,
    BulkResultSchema,
    Choice,
    FilterId,
    FilterSchema,
    MunicipalityOktmo,
    Rubles,
    SearchText,
)


class ChildInputSchema(Schema):
    last_name = fields.String(required=True)
    first_name = fields.String(required=True)
    patronymic = fields.String(load_default=None, allow_none=True)
    birth_date = fields.Date(required=True)
    snils = fields.String(required=True, load_only=True)
    birth_certificate = fields.String(required=True)
    address = fields.String(required=True)
    lives_in_district = fields.Boolean(required=True)


class ChildUpdateSchema(ChildInputSchema):
    snils = fields.String(load_default=None, allow_none=True, load_only=True,
                          metadata={"description": "omitted or empty: the stored СНИЛС stays"})


class ChildCorrectionInputSchema(ChildUpdateSchema):
    note = fields.String(load_default=None, allow_none=True,
                         metadata={"description": "what is wrong and which document shows it"})


class ChildCorrectionSchema(Schema):
    id = fields.Integer()
    municipality = MunicipalityOktmo()
    child_id = fields.Integer()
    status = fields.String()
    status_name = fields.String()
    last_name = fields.String()
    first_name = fields.String()
    patronymic = fields.String(allow_none=True)
    birth_date = fields.Date()
    snils_masked = fields.String(allow_none=True, metadata={"description": "the proposed СНИЛС, masked; null: unchanged"})
    birth_certificate = fields.String()
    address = fields.String()
    lives_in_district = fields.Boolean()
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)


class ChildCorrectionQuerySchema(FilterSchema):
    status = Choice(CORRECTION_STATUSES, NO_SUCH_STATE, load_default="requested",
                    metadata={"description": "by default the requests that wait; empty: all"})


class ChildSchema(Schema):
    id = fields.Integer()
    last_name = fields.String()
    first_name = fields.String()
    patronymic = fields.String(allow_none=True)
    birth_date = fields.Date()
    snils_masked = fields.String()
    birth_certificate = fields.String()
    address = fields.String()
    lives_in_district = fields.Boolean()


class HealthInputSchema(Schema):
    statuses = fields.List(fields.String(), load_default=list, metadata={
        "description": "ovz (ограниченные возможности здоровья), disabled (ребёнок-инвалид)"})
    consent = fields.Boolean(load_default=False, metadata={
        "description": "the separate consent to process health data (152-ФЗ art. 10); required"})


class HealthSchema(Schema):
    child_id = fields.Integer()
    statuses = fields.List(fields.String())
    names = fields.List(fields.String())
    consent_at = fields.DateTime(allow_none=True)


class ChildBriefSchema(Schema):
    id = fields.Integer()
    last_name = fields.String()
    first_name = fields.String()
    patronymic = fields.String(allow_none=True)
    birth_date = fields.Date()


class CertificateApplicationInputSchema(Schema):
    child_id = fields.Integer(required=True, validate=BODY_ID)
    period_id = fields.Integer(required=True, validate=BODY_ID)
    category_id = fields.Integer(load_default=None, allow_none=True, validate=BODY_ID,
                                 metadata={"description": "the category asked for; proposed from the child's age "
                                                          "on the period's start when omitted"})
    group_id = fields.Integer(load_default=None, allow_none=True, validate=BODY_ID, metadata={
        "description": "one application for both: a group to enroll in once the certificate is issued"})
    consent = fields.Boolean(required=True, metadata={"description": "согласие на обработку персональных данных"})


class CertificateApplicationSchema(Schema):
    id = fields.Integer()
    municipality = MunicipalityOktmo()
    number = fields.String()
    child_id = fields.Integer()
    period_id = fields.Integer()
    category_id = fields.Integer()
    category = fields.String(attribute="category.name")
    wanted_group_id = fields.Integer(allow_none=True, metadata={"description": "the group asked for with it"})
    status = fields.String()
    status_name = fields.String()
    decision_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    certificate_id = fields.Integer(attribute="certificate.id", allow_none=True)
    certificate_kind = fields.String(attribute="certificate.kind", allow_none=True)
    queue_position = fields.Method("_queue_position", allow_none=True, metadata={
        "description": "the certificate's place in its category's waiting queue (1 = next); null when not waiting"})

    def _queue_position(self, application: CertificateApplication) -> int | None:
        return _known_queue_position(application.certificate) if application.certificate else None


class CertificateApplicationQuerySchema(FilterSchema):
    status = Choice(APPLICATION_STATUSES, NO_SUCH_STATE, load_default="submitted",
                    metadata={"description": "by default the applications that wait; empty: all"})


class CertificateDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["confirmed", "refused"]))
    reason = fields.String(load_default=None, allow_none=True)


class BulkDecisionSchema(CertificateDecisionSchema):
    ids = BulkIdsField(metadata={"description": "the applications' ids"})


class BulkDecisionResultSchema(BulkResultSchema):
    """What a bulk decision did; `queued` are the confirmed applications whose certificate went to
    its category's waiting queue (a certificate of accounting: no funded place was left)."""

    queued = fields.List(fields.Integer(), metadata={"description": "applications (among `done`) whose "
                                                    "certificate waits in the category's queue"})


class OnBehalfSchema(ChildInputSchema):
    parent_email = fields.String(required=True)
    period_id = fields.Integer(required=True, validate=BODY_ID)
    category_id = fields.Integer(load_default=None, allow_none=True, validate=BODY_ID)
    consent = fields.Boolean(required=True)


class BalanceSchema(Schema):
    nominal = fields.Integer()
    available = fields.Integer()
    reserved = fields.Integer()
    spent = fields.Integer()
    expired = fields.Integer()


class CertificateSchema(Schema):
    id = fields.Integer()
    municipality = MunicipalityOktmo()
    number = fields.String()
    child = fields.Nested(ChildBriefSchema)
    period = fields.String(attribute="period.code")
    kind = fields.String(metadata={"description": "financing (pays with the nominal) or accounting (учёта: no "
                                                  "money, waiting for a funded place)"})
    kind_name = fields.String()
    category_id = fields.Integer()
    category = fields.String(attribute="category.name")
    queue_position = fields.Method("_queue_position", allow_none=True)
    nominal = fields.Integer()
    nominal_display = fields.Function(lambda c: format_rub(c.nominal))
    balance = fields.Nested(BalanceSchema, allow_none=True, metadata={"description": "null for a certificate of accounting"})
    valid_from = fields.Date()
    valid_to = fields.Date()
    status = fields.String()
    status_name = fields.String()
    status_reason = fields.String(allow_none=True)
    issued_at = fields.DateTime()
    qr_payload = fields.String()
    signature = fields.String()

    def _queue_position(self, certificate: Certificate) -> int | None:
        return _known_queue_position(certificate)


class CertificateQuerySchema(FilterSchema):
    """The register of holders' filters, for the page and the API alike (common.schemas.page_filters)."""

    q = SearchText("Поиск", 200, metadata={"description": "the child's name, the certificate's number or СНИЛС"})
    period = FilterId("Такого периода нет: выберите из списка.", metadata={"description": "a period's id"})
    status = Choice(CERTIFICATE_STATUSES, NO_SUCH_STATE)


class StatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["active", "suspended", "revoked"]))
    reason = fields.String(required=True)


class VerifyInputSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(max=2000),
                         metadata={"description": "текст QR-кода (CQ1:… или адрес …/V/CQ1:…) либо номер "
                                                  "сертификата (ответ — только действует ли он и его состояние)"})


class VerificationSchema(Schema):
    signature_valid = fields.Boolean(allow_none=True, metadata={
        "description": "null when a certificate number was checked instead of a signed code"})
    in_force = fields.Boolean()
    reason = fields.String()
    number = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    status_name = fields.String(allow_none=True)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    can_pay = fields.Boolean(allow_none=True)


class CategoryQuerySchema(Schema):
    municipality = fields.String(metadata={"description": "ОКТМО; the default municipality when omitted"})
    period_id = fields.Integer(metadata={"description": "a period; the municipality's current one when omitted"})


class CategorySchema(Schema):
    id = fields.Integer(attribute="category.id")
    period_id = fields.Integer(attribute="category.period_id")
    period = fields.String(attribute="category.period.code")
    municipality = fields.String(attribute="category.municipality.oktmo")
    name = fields.String(attribute="category.name")
    age_from = fields.Integer(attribute="category.age_from")
    age_to = fields.Integer(attribute="category.age_to")
    needs_document = fields.Boolean(attribute="category.needs_document",
                                    metadata={"description": "the department confirms the status by a document"})
    nominal = fields.Integer(attribute="category.certificate_nominal", metadata={"description": "kopecks"})
    nominal_display = fields.Function(lambda row: format_rub(row.category.certificate_nominal))
    funded_limit = fields.Integer(attribute="category.funded_limit", allow_none=True,
                                  metadata={"description": "certificates of financing the budget funds; null: no limit"})
    funded = fields.Integer(metadata={"description": "certificates of financing issued (not revoked)"})
    free = fields.Integer(allow_none=True, metadata={"description": "funded places free now; null: no limit"})
    queued = fields.Integer(metadata={"description": "certificates of accounting waiting in the queue"})


class CategoryInputSchema(Schema):
    name = fields.String(required=True)
    age_from = fields.Integer(required=True)
    age_to = fields.Integer(required=True)
    needs_document = fields.Boolean(load_default=False)
    nominal_rub = Rubles(load_default=None, allow_none=True, data_key="nominal_rub",
                         metadata={"description": "rubles; omitted or null: the period's nominal"})
    funded_limit = fields.Integer(load_default=None, allow_none=True)


class CategoryCreateSchema(CategoryInputSchema):
    period_id = fields.Integer(required=True, validate=BODY_ID)


def _known_queue_position(certificate: Certificate) -> int | None:
    """The place a list has read for all its rows at once (api._certificates_with_queue_positions), else
    asked for this one."""
    if "known_queue_position" in vars(certificate):
        return cast(int | None, vars(certificate)["known_queue_position"])
    return queue_position(certificate)
