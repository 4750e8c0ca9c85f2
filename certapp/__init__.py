"""certapp: social certificates for children's additional education (189-ФЗ, 458-п)."""
import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from certapp import config as config_module
from certapp.db import MAX_ID
from certapp.uow import CertApp

#: the package's folder: its templates and migrations are package data (in a checkout, links to the
#: folders beside it), so that a wheel (`pip install .`) runs as the checkout does
PACKAGE = Path(__file__).resolve().parent
#: the checkout (where wsgi.py is), else the working directory: the default home of instance/
ROOT = PACKAGE.parent if (PACKAGE.parent / "wsgi.py").exists() else Path.cwd()


def create_app(config: dict | None = None) -> Flask:
    """Build the application. `config` overrides the environment (tests pass their own)."""
    app = CertApp(
        __name__,
        instance_path=os.environ.get("CERTAPP_INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(PACKAGE / "templates"),
        static_folder="static",
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # the default provider's; Russian text stays readable in the API
    app.url_map.converters["int"] = IdConverter
    app.config.update(config_module.DEFAULTS)
    if config is None or "SQLALCHEMY_DATABASE_URI" not in config or "SECRET_KEY" not in config:
        app.config.update(config_module.load_config(app.instance_path))
    if config:
        app.config.update(config)
    app.config.setdefault("KEYS_DIR", os.path.join(app.instance_path, "keys"))
    app.config.setdefault("EXPORTS_DIR", os.path.join(app.instance_path, "exports"))

    register_extensions(app)
    register_blueprints(app)
    register_rate_limits(app)
    register_error_handlers(app)
    register_commands(app)
    register_template_helpers(app)
    return app


class IdConverter(IntegerConverter):
    """<int:…> in routes, bounded to the ids the database can hold: a larger number is a 404."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def register_extensions(app: Flask) -> None:
    # imported when an app is built, not with the package: importing any certapp module must not load every feature
    import certapp.models
    import certapp.tasks  # noqa: F401  (the features' reactions to each other's events, and the jobs)
    from certapp.accounts.access import check_access
    from certapp.accounts.services import load_session_user
    from certapp.certificates.state_cache import init_state_cache
    from certapp.common.replica import init_replica
    from certapp.common.scope import set_scope
    from certapp.db import db
    from certapp.extensions import api, csrf, login_manager, migrate
    from certapp.observability import configure_logging, finish_request, start_request
    from certapp.pagecache.edge import install as install_page_cache_edge
    from certapp.pagecache.pages import init_app as init_page_cache
    from certapp.security import refuse_hostile_json, refuse_oversized_stream, security_headers

    # before every other hook (CSRFProtect's reads the form): the request's id, then a chunked body
    # past the limit is a 413 (which carries the id)
    app.before_request(start_request)
    app.before_request(refuse_oversized_stream)
    db.init_app(app)
    init_replica(app)
    init_state_cache(app)
    migrate.init_app(app, db, directory=str(PACKAGE / "migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Войдите в систему, чтобы продолжить."
    login_manager.session_protection = "basic"

    login_manager.user_loader(load_session_user)

    api.init_app(app)
    configure_logging(app)
    init_page_cache(app)
    app.before_request(check_access)
    app.before_request(refuse_hostile_json)
    app.after_request(security_headers)
    app.after_request(finish_request)
    # the municipality scope is the request's: nothing after it (a test, a command sharing the app
    # context) inherits it
    app.teardown_request(lambda error: set_scope(None))
    # anonymous hits of the public pages answered before Flask; inside ProxyFix, which must see the request first
    install_page_cache_edge(app)
    if app.config.get("PROXY_FIX"):
        # behind nginx on the same machine: trust its X-Forwarded-For/-Proto (one hop) only
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]  # as Flask documents


def register_blueprints(app: Flask) -> None:
    # imported when an app is built, not with the package: importing any certapp module must not load every feature
    from certapp import home, observability
    from certapp.accounts import api as accounts_api
    from certapp.accounts import views as accounts_views
    from certapp.audit import api as audit_api
    from certapp.audit import views as audit_views
    from certapp.bookkeeping import api as bookkeeping_api
    from certapp.bookkeeping import views as bookkeeping_views
    from certapp.certificates import api as certificates_api
    from certapp.certificates import views as certificates_views
    from certapp.contracts import api as contracts_api
    from certapp.contracts import views as contracts_views
    from certapp.deadlines import api as deadlines_api
    from certapp.deadlines import views as deadlines_views
    from certapp.documents import api as documents_api
    from certapp.documents import views as documents_views
    from certapp.extensions import api, csrf
    from certapp.imports import api as imports_api
    from certapp.imports import views as imports_views
    from certapp.jobs import api as jobs_api
    from certapp.jobs import views as jobs_views
    from certapp.matters import api as matters_api
    from certapp.matters import views as matters_views
    from certapp.monitoring import api as monitoring_api
    from certapp.monitoring import views as monitoring_views
    from certapp.notifications import api as notifications_api
    from certapp.notifications import views as notifications_views
    from certapp.privacy import api as privacy_api
    from certapp.privacy import views as privacy_views
    from certapp.programs import api as programs_api
    from certapp.programs import views as programs_views
    from certapp.publication import api as publication_api
    from certapp.publication import views as publication_views
    from certapp.reference import api as reference_api
    from certapp.reference import views as reference_views
    from certapp.registry import api as registry_api
    from certapp.registry import views as registry_views
    from certapp.reporting import api as reporting_api
    from certapp.reporting import views as reporting_views

    for bp in (observability.bp, home.bp, accounts_views.bp, audit_views.bp, reference_views.bp, registry_views.bp,
               programs_views.bp, documents_views.bp, certificates_views.bp,
               contracts_views.bp, bookkeeping_views.bp, reporting_views.bp, privacy_views.bp, jobs_views.bp,
               notifications_views.bp, deadlines_views.bp, publication_views.bp, matters_views.bp, imports_views.bp,
               monitoring_views.bp):
        app.register_blueprint(bp)
    for blp in (accounts_api.blp, reference_api.blp, audit_api.blp, registry_api.blp, programs_api.blp,
                certificates_api.blp, certificates_api.categories_blp, contracts_api.blp,
                bookkeeping_api.blp, reporting_api.blp, privacy_api.blp, jobs_api.blp, notifications_api.blp,
                deadlines_api.blp, documents_api.blp, publication_api.blp, publication_api.open_blp, matters_api.blp,
                imports_api.blp, monitoring_api.blp):
        csrf.exempt(blp)  # bearer tokens only, see accounts.access
        api.register_blueprint(blp, url_prefix="/api/v1" + blp.url_prefix)


def register_rate_limits(app: Flask) -> None:
    # imported when an app is built, not with the package: importing any certapp module must not load every feature
    from certapp.ratelimit import apply_limits

    apply_limits(app)


def register_error_handlers(app: Flask) -> None:
    # imported when an app is built, not with the package: importing any certapp module must not load every feature
    from certapp.errors import register_error_handlers as register

    register(app)


def register_commands(app: Flask) -> None:
    # imported when an app is built, not with the package: importing any certapp module must not load every feature
    from certapp.accounts.cli import users_cli
    from certapp.audit.cli import audit_cli
    from certapp.backup import backup_cli
    from certapp.bookkeeping.cli import reconcile_cli, registers_cli
    from certapp.contracts.cli import contracts_cli
    from certapp.demo import demo_cli
    from certapp.documents.cli import keys_cli
    from certapp.imports.cli import import_cli
    from certapp.jobs.cli import jobs_cli
    from certapp.reference.cli import reference_cli
    from certapp.region_demo import region_command

    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(contracts_cli)
    app.cli.add_command(reconcile_cli)
    app.cli.add_command(registers_cli)
    app.cli.add_command(reference_cli)
    demo_cli.add_command(region_command)  # region_demo builds on the demo's identifiers
    app.cli.add_command(demo_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(import_cli)


def register_template_helpers(app: Flask) -> None:
    # imported when an app is built, not with the package: importing any certapp module must not load every feature
    from certapp.common.money import format_rub
    from certapp.common.months import month_text
    from certapp.common.names import dative, genitive
    from certapp.common.templating import format_date, format_datetime, format_number, plural
    from certapp.mail.services import smtp_configured

    # whether the installation sends mail (CERTAPP_SMTP_URL): pages say so truthfully
    app.jinja_env.globals["mail_configured"] = smtp_configured
    app.jinja_env.filters["rub"] = format_rub
    app.jinja_env.filters["ru_date"] = format_date
    app.jinja_env.filters["ru_datetime"] = format_datetime
    app.jinja_env.filters["ru_number"] = format_number
    # {{ "2026-07"|ru_month }} -> "июль 2026" (a month kept as ГГГГ-ММ in a document's figures)
    app.jinja_env.filters["ru_month"] = month_text
    # {{ child|dative }} -> "Петровой Анне Андреевне" (a Child, a User or a text «Фамилия Имя Отчество»)
    app.jinja_env.filters["dative"] = dative
    app.jinja_env.filters["genitive"] = genitive
    # {{ n|plural('место', 'места', 'мест') }} -> "5 мест"
    app.jinja_env.filters["plural"] = lambda n, one, few, many: f"{format_number(n)} {plural(n, one, few, many)}"
