"""The check that the key files belong to the data: run before serving (gunicorn.conf.py), by
`flask keys check`, and by /readyz.

A restore without instance/keys would otherwise start with new, empty keys: every issued QR code
and signed document would stop verifying and new СНИЛС would be encrypted under a key the old rows
do not share. Only a handful of rows are read (the oldest and newest signature of each signed
table, the newest child), whatever the size of the database.
"""
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from certapp.certificates import personal_data
from certapp.certificates.models import Child
from certapp.db import db
from certapp.documents.keys import key_store


def key_problems() -> list[str]:
    """What in the database the present keys cannot verify or decrypt; empty when all is well."""
    store = key_store()
    usable = {entry["kid"] for entry in store.list() if not entry["retired"]} - set(store.missing_files())
    problems = []
    for table in db.metadata.sorted_tables:
        if "signature" not in table.c:
            continue
        for order in (table.c.id.asc(), table.c.id.desc()):
            signature = db.session.execute(select(table.c.signature).where(table.c.signature.is_not(None))
                                           .order_by(order).limit(1)).scalar()
            kid = signature.split(".", 1)[0] if signature else None
            if kid and kid not in usable:
                problems.append(f"{table.name}: документы подписаны ключом {kid}, которого нет в {store.dir}")
                break
    child = db.session.execute(select(Child.snils_encrypted, Child.snils_key).where(Child.anonymised_at.is_(None))
                               .order_by(Child.id.desc()).limit(1)).first()
    if child is not None:
        if not personal_data.keys_present():
            problems.append(f"в базе есть зашифрованные СНИЛС, а ключей pd-fernet.keys и pd-hmac.key нет в {store.dir}")
        elif not personal_data.row_readable(*child):
            problems.append(f"ключи персональных данных в {store.dir} не подходят к зашифрованным СНИЛС в базе")
    return problems


def refuse_to_start_without_keys(app) -> None:
    """Exit with a clear message when the keys do not belong to the database (see key_problems)."""
    with app.app_context():
        try:
            problems = key_problems()
        except SQLAlchemyError as error:
            raise SystemExit(f"certapp не запущен: база данных недоступна или не обновлена ({type(error).__name__}). "
                             "Проверьте DATABASE_URL и выполните flask --app wsgi db upgrade.") from error
        finally:
            db.session.remove()
    if problems:
        raise SystemExit("certapp не запущен: ключи не соответствуют базе данных.\n  - " + "\n  - ".join(problems)
                         + "\nВосстановите каталог ключей из резервной копии (flask --app wsgi backup restore) "
                           "или укажите его в CERTAPP_KEYS_DIR.")
