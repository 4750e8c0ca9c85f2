from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import roles
from certapp.bookkeeping import services
from certapp.bookkeeping.schemas import (
    AgreementQuerySchema,
    AgreementSchema,
    BuildAllSchema,
    BuildSchema,
    EndSchema,
    PaymentRegisterQuerySchema,
    PaymentRegisterSchema,
    PaySchema,
    ReconciliationSchema,
    RegisterRejectSchema,
    TermSchema,
)
from certapp.contracts.services import parse_month
from certapp.db import db, transaction
from certapp.jobs.api import JobSchema

blp = Blueprint("bookkeeping_api", __name__, url_prefix="/bookkeeping",
                description="Соглашения, реестры на оплату, сверка")


@blp.route("/agreements", methods=["GET"])
@blp.arguments(AgreementQuerySchema, location="query")
@blp.response(200, AgreementSchema(many=True))
@roles("bookkeeping", "department")
def list_agreements(args):
    return db.session.execute(services.agreements_query(args.get("status"))).scalars().all()


@blp.route("/agreements/<int:agreement_id>/conclude", methods=["POST"])
@blp.arguments(TermSchema)
@blp.response(200, AgreementSchema)
@roles("bookkeeping")
def conclude(data, agreement_id: int):
    with transaction():
        return services.conclude_agreement(agreement_id, current_user, data["valid_from"], data["valid_to"])


@blp.route("/agreements/<int:agreement_id>/amend", methods=["POST"])
@blp.arguments(TermSchema)
@blp.response(200, AgreementSchema)
@roles("bookkeeping")
def amend(data, agreement_id: int):
    with transaction():
        return services.amend_agreement(agreement_id, current_user, data["valid_from"], data["valid_to"])


@blp.route("/agreements/<int:agreement_id>/end", methods=["POST"])
@blp.arguments(EndSchema)
@blp.response(200, AgreementSchema)
@roles("bookkeeping")
def end(data, agreement_id: int):
    with transaction():
        return services.end_agreement(agreement_id, current_user, data["ended_on"], data["reason"])


@blp.route("/payment-registers", methods=["GET"])
@blp.arguments(PaymentRegisterQuerySchema, location="query")
@blp.response(200, PaymentRegisterSchema(many=True))
@roles("bookkeeping", "department")
def list_registers(args):
    month = parse_month(args["month"]) if args.get("month") else None
    return db.session.execute(services.registers_query(month, args.get("status"), args.get("provider_id"))
                              ).scalars().all()


@blp.route("/payment-registers", methods=["POST"])
@blp.arguments(BuildSchema)
@blp.response(201, PaymentRegisterSchema)
@roles("bookkeeping")
def build(data):
    """Build a provider's register for a month (409 agreement_required without a concluded agreement)."""
    with transaction():
        return services.build_register(data["provider_id"], parse_month(data["month"]), current_user)


@blp.route("/payment-registers/build-all", methods=["POST"])
@blp.arguments(BuildAllSchema)
@blp.response(202, JobSchema)
@roles("bookkeeping")
def build_all(data):
    """Start building every provider's register for a month: a job (follow it at GET /api/v1/jobs/{id};
    its message says which were built and which skipped and why)."""
    with transaction():
        record = services.start_building(parse_month(data["month"]), current_user)
    return db.session.get(type(record), record.id)


@blp.route("/payment-registers/<int:register_id>", methods=["GET"])
@blp.response(200, PaymentRegisterSchema)
@roles("bookkeeping", "department")
def get_register(register_id: int):
    return services.get_register(register_id)


@blp.route("/payment-registers/<int:register_id>/approve", methods=["POST"])
@blp.response(200, PaymentRegisterSchema)
@roles("bookkeeping")
def approve(register_id: int):
    with transaction():
        return services.approve_register(register_id, current_user)


@blp.route("/payment-registers/<int:register_id>/refresh", methods=["POST"])
@blp.response(200, PaymentRegisterSchema)
@roles("bookkeeping")
def refresh(register_id: int):
    """Re-collect a draft's lines; an approved register is frozen (409 register_frozen)."""
    with transaction():
        return services.refresh_register(register_id, current_user)


@blp.route("/payment-registers/<int:register_id>/reject", methods=["POST"])
@blp.arguments(RegisterRejectSchema)
@blp.response(200, PaymentRegisterSchema)
@roles("bookkeeping")
def reject(data, register_id: int):
    with transaction():
        return services.reject_register(register_id, current_user, data["reason"])


@blp.route("/payment-registers/<int:register_id>/pay", methods=["POST"])
@blp.arguments(PaySchema)
@blp.response(200, PaymentRegisterSchema)
@roles("bookkeeping")
def pay(data, register_id: int):
    with transaction():
        return services.mark_paid(register_id, current_user, data["payment_order_number"], data["payment_order_date"])


@blp.route("/reconciliation", methods=["GET"])
@blp.response(200, ReconciliationSchema)
@roles("bookkeeping", "department")
def reconciliation():
    """District, provider and certificate figures, with every mismatch listed (there must be none)."""
    return services.reconcile()
