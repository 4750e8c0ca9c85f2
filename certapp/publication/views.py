"""The department's publication page and the public pages of open data (/open/<ОКТМО>/…)."""
import json
from datetime import date

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from certapp.accounts.access import public, roles
from certapp.common import clock
from certapp.common.errors import DomainError
from certapp.common.exports import content_disposition
from certapp.common.money import format_rub, parse_rub
from certapp.common.months import year_arg
from certapp.common.normalise import id_number
from certapp.common.pagination import page_number, paginate
from certapp.common.replica import reads_from_replica
from certapp.common.templating import format_date
from certapp.db import db
from certapp.pagecache.pages import cached_public
from certapp.publication import services
from certapp.publication.models import PUBLICATION_KINDS
from certapp.reference.services import get_municipality_of, list_municipalities
from certapp.reporting.models import FormedExecutionReport, SocialOrder
from certapp.uow import refuse

bp = Blueprint("publication", __name__)


@bp.app_template_filter("ru_iso_date")
def ru_iso_date(value: str) -> str:
    """A published date (ГГГГ-ММ-ДД in the files) as people read it: ДД.ММ.ГГГГ."""
    return format_date(date.fromisoformat(value)) if value else ""


@bp.app_template_filter("rub_text")
def rub_text(value: str) -> str:
    """A published sum ("12345.67" rubles in the files) as people read it: 12 345,67 ₽."""
    return format_rub(parse_rub(value))


def _source_arg():
    """The chosen document's id (common.normalise.id_number); what is no id goes on to be refused beside the field."""
    raw = (request.form.get("source_id") or "").strip()
    number = id_number(raw)
    return number if number is not None else (raw or None)


def _open_municipality(oktmo: str):
    """The municipality whose open data the page shows; the site's heading names it (home.page_municipality)."""
    g.open_municipality = services.open_municipality(oktmo)
    return g.open_municipality


@bp.route("/publication", methods=["GET", "POST"])
@roles("department")
def index():
    """What the department can publish (each with a confirm saying what becomes public and final) and
    what it has published."""
    errors, kind = {}, request.form.get("kind")
    if request.method == "POST":
        try:
            year = year_arg(request.form, clock.today().year) if kind == "indicators" else None
            publication = services.publish(kind or "", current_user, source_id=_source_arg(), year=year)
        except DomainError as error:
            refuse(error)
            errors = {f"{kind}:{name}": message for name, message in (error.fields or {"": error.message}).items()}
            flash(error.message, "error")
        else:
            flash(f"Опубликовано: «{publication.title}», версия {publication.version} от "
                  f"{format_date(publication.published_on)}.", "success")
            return redirect(url_for("publication.index"))
    orders = db.session.execute(select(SocialOrder).where(SocialOrder.status == "approved")
                                .order_by(SocialOrder.year.desc())).scalars().all()
    reports = db.session.execute(select(FormedExecutionReport).order_by(
        FormedExecutionReport.year.desc(), FormedExecutionReport.quarter, FormedExecutionReport.version.desc())
    ).scalars().all()
    published = paginate(services.own_publications(), page_number(request.args), 50)
    return render_template("publication/index.html", orders=orders, reports=reports, published=published,
                           published_orders=services.published_sources("social_order"),
                           published_reports=services.published_sources("execution_report"),
                           superseded_reports=services.superseded_reports(reports),
                           kinds=PUBLICATION_KINDS, errors=errors, this_year=clock.today().year,
                           municipality=get_municipality_of(current_user),
                           entered_year=request.form.get("year") if kind == "indicators" else None), \
        422 if errors else 200


# --- the public pages ------------------------------------------------------------------------------------

@bp.route("/open")
@cached_public("open")
@public
@reads_from_replica
def open_municipalities():
    """The municipalities' open data: the only one's page at once, else the list."""
    municipalities = list_municipalities()
    if len(municipalities) == 1:
        return redirect(url_for("publication.open_index", oktmo=municipalities[0].oktmo))
    return render_template("publication/open_municipalities.html", municipalities=municipalities)


@bp.route("/open/<oktmo>")
@cached_public("open")
@public
@reads_from_replica
def open_index(oktmo: str):
    municipality = _open_municipality(oktmo)
    return render_template("publication/open_index.html", municipality=municipality,
                           sets=services.published_sets(municipality), kinds=PUBLICATION_KINDS)


@bp.route("/open/<oktmo>/<dataset>")
@bp.route("/open/<oktmo>/<dataset>/<int:version>")
@cached_public("open")
@public
@reads_from_replica
def dataset(oktmo: str, dataset: str, version: int | None = None):
    municipality = _open_municipality(oktmo)
    shown = services.find_version(municipality, dataset, version)
    return render_template("publication/dataset.html", municipality=municipality, shown=shown,
                           publication=shown.publication, versions=services.versions(municipality, dataset),
                           money=services.MONEY_FORMAT)


def _file(body: str, mimetype: str, name: str) -> Response:
    """A file of the set; werkzeug adds «; charset=utf-8» to a text/ mimetype itself (given it, it said it twice)."""
    return Response(body.encode("utf-8"), mimetype=mimetype,
                    headers={"Content-Disposition": content_disposition(name, "inline")})


@bp.route("/open/<oktmo>/<dataset>/data.<any(csv, json):fmt>")
@bp.route("/open/<oktmo>/<dataset>/<int:version>/data.<any(csv, json):fmt>")
@cached_public("open")
@public
@reads_from_replica
def data(oktmo: str, dataset: str, fmt: str, version: int | None = None):
    """The open data file of a version (the current one at the set's stable address)."""
    publication = services.find_version(_open_municipality(oktmo), dataset, version).publication
    name = f"data-{publication.published_on:%Y%m%d}-structure-{publication.published_on:%Y%m%d}.{fmt}"
    if fmt == "json":
        return _file(json.dumps(services.data_json(publication), ensure_ascii=False, indent=1),
                     "application/json", name)
    return _file(services.data_csv(publication), "text/csv", name)


@bp.route("/open/<oktmo>/<dataset>/structure.csv")
@bp.route("/open/<oktmo>/<dataset>/<int:version>/structure.csv")
@cached_public("open")
@public
@reads_from_replica
def structure(oktmo: str, dataset: str, version: int | None = None):
    publication = services.find_version(_open_municipality(oktmo), dataset, version).publication
    return _file(services.structure_csv(publication), "text/csv",
                 f"structure-{publication.published_on:%Y%m%d}.csv")


def _passport(oktmo: str, dataset: str):
    municipality = _open_municipality(oktmo)
    every = services.versions(municipality, dataset)
    urls = {"data": url_for("publication.data", oktmo=municipality.oktmo, dataset=dataset, fmt="csv", _external=True),
            "structure": url_for("publication.structure", oktmo=municipality.oktmo, dataset=dataset, _external=True),
            "versions": [(v.publication.version, url_for("publication.data", oktmo=municipality.oktmo, dataset=dataset,
                                                         version=v.publication.version, fmt="csv", _external=True))
                         for v in every]}
    return municipality, every, services.passport(municipality, dataset, urls)


@bp.route("/open/<oktmo>/<dataset>/meta")
@cached_public("open")
@public
@reads_from_replica
def meta(oktmo: str, dataset: str):
    """The set's passport, as people read it."""
    municipality, every, rows = _passport(oktmo, dataset)
    return render_template("publication/passport.html", municipality=municipality, publication=every[0].publication,
                           rows=rows)


@bp.route("/open/<oktmo>/<dataset>/meta.csv")
@cached_public("open")
@public
@reads_from_replica
def meta_csv(oktmo: str, dataset: str):
    _, _, rows = _passport(oktmo, dataset)
    return _file(services.meta_csv(rows), "text/csv", "meta.csv")
