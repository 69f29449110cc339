"""Alembic environment: runs migrations against the Flask app's engine and the models' metadata."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def _metadata():
    from app.db import Base
    from app.factory import load_all_models

    load_all_models()

    return Base.metadata


from app.migrations_state import include_object  # noqa: E402


def _engine():
    connection = config.attributes.get("connection")
    if connection is not None:
        return connection
    return current_app.extensions["migrate"].db.engine


def run_migrations_offline() -> None:
    """Emit SQL without a database connection."""
    url = str(_engine().url).replace("%", "%%")
    context.configure(url=url, target_metadata=_metadata(), literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a live connection."""

    def process_revision_directives(ctx, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args) if current_app else {}
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("render_as_batch", True)
    conf_args.setdefault("compare_type", True)
    conf_args.setdefault("include_object", include_object)

    connectable = _engine()
    if hasattr(connectable, "connect") and not hasattr(connectable, "in_transaction"):
        with connectable.connect() as connection:
            context.configure(connection=connection, target_metadata=_metadata(), **conf_args)
            with context.begin_transaction():
                context.run_migrations()
    else:
        context.configure(connection=connectable, target_metadata=_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
