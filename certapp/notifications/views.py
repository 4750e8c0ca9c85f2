from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import authenticated, roles
from certapp.common.pagination import page_number, paginate
from certapp.common.schemas import page_filters
from certapp.common.web import run_and_flash
from certapp.mail import services as mail
from certapp.mail.models import MESSAGE_STATUSES
from certapp.notifications import services
from certapp.notifications.schemas import NotificationQuerySchema, OutboxQuerySchema

bp = Blueprint("notifications", __name__)


@bp.app_context_processor
def bell():
    """The unread count beside the bell in the top bar (one indexed count per page)."""
    def unread() -> int:
        return services.unread_count(current_user) if current_user.is_authenticated else 0
    return {"unread_notifications": unread}


@bp.route("/notifications")
@authenticated
def index():
    args, errors = page_filters(NotificationQuerySchema(), request.args)  # the API's own (api.list_notifications)
    unread = bool(args.get("unread"))
    page = paginate(services.notifications_for(current_user, unread), page_number(request.args), 30)
    return render_template("notifications/index.html", page=page, unread=unread, errors=errors), 422 if errors else 200


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@authenticated
def read(notification_id: int):
    """Mark read, then open the object it tells about (or go back to the list)."""
    notification = services.mark_read(notification_id, current_user)
    if request.form.get("open") and notification.url:
        return redirect(notification.url)
    return redirect(url_for("notifications.index", unread=request.args.get("unread")))


@bp.route("/notifications/read-all", methods=["POST"])
@authenticated
def read_all():
    count = services.mark_all_read(current_user)
    flash(f"Прочитано: {count}." if count else "Непрочитанных нет.", "success")
    return redirect(url_for("notifications.index"))


@bp.route("/mail/outbox")
@roles("department")
def outbox():
    """Letters waiting, sent and failed; without SMTP they wait here and none is lost."""
    args, errors = page_filters(OutboxQuerySchema(), request.args)
    status = args.get("status")
    page = paginate(mail.outbox_query(status), page_number(request.args), 50)
    return render_template("notifications/outbox.html", page=page, status=status, statuses=MESSAGE_STATUSES,
                           smtp=mail.smtp_configured(), errors=errors), 422 if errors else 200


@bp.route("/mail/outbox/<int:message_id>/retry", methods=["POST"])
@roles("department")
def retry(message_id: int):
    run_and_flash(lambda: mail.retry(message_id), "Письмо поставлено в очередь на отправку.")
    return redirect(url_for("notifications.outbox", status="failed"))
