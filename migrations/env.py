"""Alembic environment, run through Flask-Migrate (`flask --app wsgi db …`)."""
import logging

from alembic import context
from flask import current_app

from certapp.db import include_name

config = context.config
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option(
    "sqlalchemy.url", target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_db.metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    # Do not write an empty revision when autogenerate finds nothing to change.
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    with target_db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild tables; with foreign keys enforced, dropping a referenced table
            # fails. The pragma only takes effect outside a transaction, hence the raw connection.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(connection=connection, target_metadata=target_db.metadata, include_name=include_name,
                              **conf_args)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                raw = connection.connection.driver_connection
                raw.execute("PRAGMA foreign_keys=ON")
                problems = raw.execute("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise RuntimeError(f"foreign key check failed after migration: {problems[:5]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
