from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from certapp.accounts.models import User
from certapp.audit import chain
from certapp.audit.models import AuditAnchor
from certapp.db import db
from certapp.mail.services import queue_email
from certapp.uow import unit_of_work

audit_cli = AppGroup("audit", help="Журнал действий: проверка цепочки и отметки.")

#: the administrator's file of published anchors, in the instance folder unless --file says otherwise
ANCHOR_FILE = "audit-anchors.txt"


def _default_anchor_file() -> Path:
    return Path(current_app.instance_path) / ANCHOR_FILE


@audit_cli.command("verify")
@click.option("--since-last-anchor", is_flag=True, help="Check only the events after the newest anchor.")
@click.option("--anchor", "anchor_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also check the anchors published in this file (by `flask audit anchor`): each must still "
                   "be in the chain at its number with the same hash.")
def verify(since_last_anchor, anchor_file):
    """Check the audit chain; name the first broken link (exit 1 if any)."""
    from_seq = 1
    if since_last_anchor:
        last = db.session.execute(db.select(AuditAnchor.seq).order_by(AuditAnchor.seq.desc()).limit(1)).scalar()
        from_seq = (last or 0) + 1
    report = chain.verify(db.session(), from_seq=from_seq,
                          progress=lambda n: click.echo(f"  проверено {n} событий…", err=True))
    problems = list(report.problems)
    published: list[chain.PublishedAnchor] = []
    if anchor_file is not None:
        if not anchor_file.is_file():
            problems.append(f"файла отметок {anchor_file} нет")
        else:
            published, unreadable = chain.read_anchors(anchor_file)
            problems += unreadable
            if not published and not unreadable:
                problems.append(f"в файле {anchor_file} нет ни одной отметки")
            problems += chain.check_published(db.session(), published)
    for problem in problems:
        click.echo(f"НАРУШЕНИЕ: {problem}")
    if problems:
        raise SystemExit(1)
    click.echo(f"Цепочка цела: проверено событий {report.checked}, последнее № {report.head_seq}."
               + (f" Опубликованные отметки совпадают: {len(published)}." if anchor_file is not None else ""))


@audit_cli.command("anchor")
@click.option("--file", "anchor_file", type=click.Path(dir_okay=False, path_type=Path),
              help=f"The file the anchor's line is appended to (default: {ANCHOR_FILE} in the instance folder). "
                   "Keep it outside the database server, e.g. on another machine.")
@click.option("--mail", is_flag=True, help="Also send the line by letter to every department official.")
def anchor(anchor_file, mail):
    """Record the chain's head in the database and publish it outside: a line appended to a file the
    administrator keeps (and, with --mail, a letter to the department). `flask audit verify --anchor FILE`
    then finds a chain rewritten and rehashed by someone with direct database access."""
    path = anchor_file or _default_anchor_file()
    with unit_of_work():
        row = chain.anchor(db.session())
        if row is not None and mail:
            _mail_anchor(chain.anchor_line(row))
    if row is None:
        click.echo("Журнал пуст: отметка не нужна.")
        return
    line = chain.publish_anchor(row, path)
    click.echo(f"Отметка журнала: событие № {row.seq}, хеш {row.hash}, {row.created_at:%Y-%m-%dT%H:%M:%SZ}")
    click.echo(f"Записана в {path}: {line}")


def _mail_anchor(line: str) -> int:
    """A letter with the anchor's line to every active department official (sent after the commit)."""
    officials = db.session.execute(db.select(User).where(User.role == "department", User.active.is_(True))
                                   .order_by(User.id)).scalars().all()
    for official in officials:
        queue_email(official.email, "Отметка журнала действий",
                    "Отметка журнала действий системы социальных сертификатов. Сохраните это письмо: по нему "
                    "проверяется, что журнал не переписан (flask audit verify --anchor).\n\n" + line,
                    municipality_id=official.municipality_id)
    return len(officials)
