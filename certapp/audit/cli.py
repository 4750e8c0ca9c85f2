import click
from flask.cli import AppGroup

from certapp.audit import chain
from certapp.audit.models import AuditAnchor
from certapp.db import db, transaction

audit_cli = AppGroup("audit", help="Журнал действий: проверка цепочки и отметки.")


@audit_cli.command("verify")
@click.option("--since-last-anchor", is_flag=True, help="Check only the events after the newest anchor.")
def verify(since_last_anchor):
    """Check the audit chain; name the first broken link (exit 1 if any)."""
    from_seq = 1
    if since_last_anchor:
        last = db.session.execute(db.select(AuditAnchor.seq).order_by(AuditAnchor.seq.desc()).limit(1)).scalar()
        from_seq = (last or 0) + 1
    report = chain.verify(db.session, from_seq=from_seq,
                          progress=lambda n: click.echo(f"  проверено {n} событий…", err=True))
    for problem in report.problems:
        click.echo(f"НАРУШЕНИЕ: {problem}")
    if report.problems:
        raise SystemExit(1)
    click.echo(f"Цепочка цела: проверено событий {report.checked}, последнее № {report.head_seq}.")


@audit_cli.command("anchor")
def anchor():
    """Record the chain's head; keep the printed line outside the database (mail, log, paper)."""
    with transaction():
        row = chain.anchor(db.session)
    if row is None:
        click.echo("Журнал пуст: отметка не нужна.")
    else:
        click.echo(f"Отметка журнала: событие № {row.seq}, хеш {row.hash}, {row.created_at:%Y-%m-%dT%H:%M:%SZ}")
