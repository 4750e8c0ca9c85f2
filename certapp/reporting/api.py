from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import roles
from certapp.common.months import parse_month
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.common.printing import PDF_RESPONSES, pdf_response
from certapp.common.replica import reads_from_replica
from certapp.jobs.api import JobSchema
from certapp.reporting import render, services
from certapp.reporting.schemas import (
    AnswerSchema,
    ExecutionSchema,
    FeedbackInputSchema,
    FeedbackSchema,
    FormedExecutionSchema,
    FormedQuerySchema,
    FormExecutionSchema,
    IndicatorFactInputSchema,
    IndicatorQuerySchema,
    IndicatorRowSchema,
    IndicatorTableSchema,
    IndicatorValuesInputSchema,
    OrderCreateSchema,
    OrderLinesInputSchema,
    OrderSchema,
    PeriodQuerySchema,
    RegionReportSchema,
)
from certapp.reporting.service_codes import indicators_by_service_code

blp = Blueprint("reporting_api", __name__, url_prefix="/reports",
                description="Социальный заказ, отчёт об исполнении, показатели, отзывы")


@blp.route("/social-orders", methods=["GET"])
@blp.response(200, OrderSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("department", "bookkeeping")
def list_orders():
    return services.orders_query()


@blp.route("/social-orders", methods=["POST"])
@blp.arguments(OrderCreateSchema)
@blp.response(201, OrderSchema)
@roles("department")
def create_order(data):
    """A draft for the year (the next version when one is approved)."""
    return services.create_order(data["year"], current_user)


@blp.route("/social-orders/<int:order_id>/lines", methods=["PUT"])
@blp.arguments(OrderLinesInputSchema)
@blp.response(200, OrderSchema)
@roles("department")
def update_lines(data, order_id: int):
    return services.update_order_lines(order_id, current_user, data["lines"])


@blp.route("/social-orders/<int:order_id>/approve", methods=["POST"])
@blp.response(200, OrderSchema)
@roles("department")
def approve(order_id: int):
    return services.approve_order(order_id, current_user)


@blp.route("/social-orders/<int:order_id>/pdf", methods=["GET"])
@blp.doc(responses=PDF_RESPONSES)
@roles("department", "bookkeeping")
def order_pdf(order_id: int):
    """A version of the social order as a PDF: its lines, the approval and its signature (the official's
    municipality; another's is 404)."""
    return pdf_response(render.order_document(services.get_order(order_id)))


@blp.route("/execution", methods=["GET"])
@blp.arguments(PeriodQuerySchema, location="query")
@blp.response(200, ExecutionSchema)
@roles("department", "bookkeeping")
def execution(args):
    """The execution report for a year or a quarter, against the approved plan."""
    return services.execution_report(args["year"], args.get("quarter"))


@blp.route("/execution/formed", methods=["GET"])
@blp.arguments(FormedQuerySchema, location="query")
@blp.response(200, FormedExecutionSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("department", "bookkeeping")
def formed_execution(args):
    """The execution reports formed for a year (every quarter and version), newest version first."""
    return services.formed_reports(args["year"])


@blp.route("/execution/formed", methods=["POST"])
@blp.arguments(FormExecutionSchema)
@blp.response(201, FormedExecutionSchema)
@roles("department")
def form_execution(data):
    """Form the execution report as a document: numbered, the figures frozen, signed; a new version
    each time (check it later with POST /api/v1/documents/verify)."""
    return services.form_execution_report(data["year"], data["quarter"], current_user)


@blp.route("/execution/formed/<int:formed_id>/pdf", methods=["GET"])
@blp.doc(responses=PDF_RESPONSES)
@roles("department", "bookkeeping")
def formed_execution_pdf(formed_id: int):
    """A formed execution report as a PDF: its frozen figures, number, version and signature (the official's
    municipality; another's is 404)."""
    formed = services.get_formed_report(formed_id)
    return pdf_response(render.execution_document(formed.figures, formed.municipality, formed))


@blp.route("/indicators", methods=["GET"])
@blp.arguments(IndicatorQuerySchema, location="query")
@blp.response(200, IndicatorTableSchema)
@roles("department")
def indicators(args):
    year, rows = services.indicator_table(args.get("year"))
    return {"year": year, "rows": rows, "categories": services.certificates_by_category(year),
            "by_service_code": indicators_by_service_code(year)}


@blp.route("/region", methods=["GET"])
@reads_from_replica
@blp.arguments(IndicatorQuerySchema, location="query")
@blp.response(200, RegionReportSchema)
@roles("region")
def region(args):
    """The regional operator's report: each municipality's indicators and money, and the total —
    computed now in a small region, else the newest stored one of the year (`computed_at`; 404 before
    the first: start one with POST)."""
    return services.region_summary(args.get("year"))


@blp.route("/region", methods=["POST"])
@blp.arguments(IndicatorQuerySchema)
@blp.response(202, JobSchema)
@roles("region")
def compute_region(data):
    """Recompute the year's regional report (this year's by default) as a job (GET /api/v1/jobs/{id}
    shows its progress); GET /region then answers it."""
    return services.start_region_report(current_user, data.get("year"))


@blp.route("/indicators", methods=["PUT"])
@blp.arguments(IndicatorValuesInputSchema)
@blp.response(200, IndicatorTableSchema)
@roles("department")
def set_indicators(data):
    """Edit base (2023) and target (2025) values, several at once: all are checked first and nothing
    changes if one is wrong (field errors are named "code:year"); null or "" removes a value."""
    services.set_indicator_values([(v["code"], v["year"], v["value"]) for v in data["values"]], current_user)
    year, rows = services.indicator_table()
    return {"year": year, "rows": rows, "categories": services.certificates_by_category(year),
            "by_service_code": indicators_by_service_code(year)}


@blp.route("/indicators/facts", methods=["PUT"])
@blp.arguments(IndicatorFactInputSchema)
@blp.response(200, IndicatorRowSchema)
@roles("department")
def set_indicator_fact(data):
    """Enter the fact of a year of a row the system cannot count (kind entered: a whole number; yes_no:
    нет/есть) with its source and the source document's date; null or "" removes it. Every wrong field is
    named at once (422, errors.json: code, year, value, source, source_date); a computed row is refused.
    Answers the row as the indicators list shows it, with who entered the value and when."""
    services.enter_indicator_value(data["code"], data["year"], data["value"], data["source"], data["source_date"],
                                   current_user)
    _, rows = services.indicator_table(data["year"])
    return next(row for row in rows if row.code == data["code"])


@blp.route("/feedback", methods=["GET"])
@blp.response(200, FeedbackSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("parent", "provider", "department")
def list_feedback():
    """Feedback, a page at a time (X-Pagination)."""
    return services.feedback_for(current_user)


@blp.route("/feedback", methods=["POST"])
@blp.arguments(FeedbackInputSchema)
@blp.response(201, FeedbackSchema)
@roles("parent")
def leave_feedback(data):
    return services.leave_feedback(current_user, data["contract_id"], parse_month(data["month"]), data["rating"],
                                   data["comment"])


@blp.route("/feedback/<int:feedback_id>/answer", methods=["POST"])
@blp.arguments(AnswerSchema)
@blp.response(200, FeedbackSchema)
@roles("provider")
def answer(data, feedback_id: int):
    return services.answer_feedback(current_user, feedback_id, data["answer"])
