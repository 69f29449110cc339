"""The application factory: configuration, extensions, blueprints, CLI and error pages."""

from __future__ import annotations

import gc
import logging

from flask import Flask, g, render_template, request, session
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.exc import OperationalError, ProgrammingError

from config import ConfigError, get_config

log = logging.getLogger(__name__)

# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back whole.
CONCURRENCY_SQLSTATES = frozenset({"40P01", "40001"})


def settle_heap() -> None:
    """Move every object alive now (modules, templates, catalogues, the app) out of the collector's reach.

    Call once the app is built, before serving (wsgi.py does). Without it each full collection
    walks those few hundred thousand long-lived objects: 100-150 ms in the middle of a request,
    measured on the batch page. With a forking server the pages also stay shared between workers.
    """
    gc.collect()
    gc.freeze()


def select_locale() -> str:
    """Pick the interface language: the session's choice, then the user's saved one, then Vietnamese."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    # Only look at a user already loaded for this request: loading one here could recurse
    # (Flask-Login may translate a message while it loads the user).
    user = g.get("_login_user")
    user_locale = getattr(user, "locale", None)
    if user_locale in languages:
        return user_locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def load_all_models() -> None:
    """Import every model module of every package, so Base.metadata describes the whole schema."""
    import app.models_registry  # noqa: F401
    import catalog.acquisitions.models  # noqa: F401
    import catalog.acquisitions.stockcheck_models  # noqa: F401
    import catalog.models  # noqa: F401
    import rotation.models  # noqa: F401


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """Build and return the Flask application; raise ConfigError when the settings cannot work."""
    app = Flask(__name__, instance_relative_config=False)
    config_cls, env_values = get_config(config_name)
    app.config.from_object(config_cls)
    app.config.update(env_values)
    if overrides:
        app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        raise ConfigError("SECRET_KEY is not set")

    load_all_models()
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_error_pages(app)
    _register_template_helpers(app)
    _register_plan_indicators(app)
    _register_withdrawal_handover(app)
    return app


def _register_plan_indicators(app: Flask) -> None:
    """Give the plan the indicators that the catalogue and the rotation count."""
    from app.plan.indicators import register_provider
    from app.plan.models import Indicator
    from catalog.plan_indicators import copies_acquired, records_catalogued
    from rotation.plan_indicators import rotations

    register_provider(Indicator.COPIES_ACQUIRED, copies_acquired)
    register_provider(Indicator.RECORDS_CATALOGUED, records_catalogued)
    register_provider(Indicator.ROTATIONS, rotations)


def _register_withdrawal_handover(app: Flask) -> None:
    """Hand the copies written off in rotation over to acquisitions for their withdrawal minutes."""
    from catalog.acquisitions.handover import register_candidate_provider
    from rotation.withdrawal_candidates import provider

    register_candidate_provider(provider)


def _init_extensions(app: Flask) -> None:
    from app import security
    from app.auth import services as auth_services
    from app.db import configure_sqlite
    from app.extensions import babel, csrf, db, limiter, login_manager, migrate

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql"):
        # psycopg prepares a statement after 5 runs, and PostgreSQL may then switch to a generic plan
        # that ignores the values: for `record_id IN (300 values)` that was a scan of every copy
        # (90 ms instead of 8). Plan every statement with its values instead.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"prepare_threshold": None, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if uri.startswith("sqlite:"):
        from pathlib import Path

        path = uri.split("///", 1)[-1] if "///" in uri else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine)
        else:
            event.listen(engine, "connect", _set_pg_timezone)

    from app.migrations_state import MIGRATIONS_DIR

    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page explains itself
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_user(token: str):
        return auth_services.load_user(db.session, token)

    security.init_app(app)
    app.before_request(_check_database_ready)


def _set_pg_timezone(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.commit()


def _check_database_ready():
    """Refuse to serve from a database that is missing migrations, with the command to run."""
    from flask import current_app

    if current_app.extensions.get("tramsach_db_ready") or request.endpoint in {
        "static",
        "main.healthz",
    }:
        return None
    from app.migrations_state import migration_state

    state = migration_state()
    if state.ok:
        current_app.extensions["tramsach_db_ready"] = True
        return None
    return render_template("errors/not_migrated.html", state=state), 503


def _register_blueprints(app: Flask) -> None:
    from app.audit.views import bp as audit_bp
    from app.auth.views import bp as auth_bp
    from app.main.views import bp as main_bp
    from app.network.views import bp as network_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(audit_bp, url_prefix="/audit")
    app.register_blueprint(network_bp, url_prefix="/network")
    from app.labels.views import bp as labels_bp
    from app.plan.views import bp as plan_bp

    app.register_blueprint(labels_bp, url_prefix="/labels")
    app.register_blueprint(plan_bp, url_prefix="/plan")

    from catalog.views import acq_bp, opac_bp
    from catalog.views import bp as catalog_bp

    app.register_blueprint(catalog_bp, url_prefix="/catalog")
    app.register_blueprint(acq_bp, url_prefix="/acquisitions")
    app.register_blueprint(opac_bp, url_prefix="/opac")

    from rotation.views import bp as rotation_bp

    app.register_blueprint(rotation_bp, url_prefix="/rotation")

    from app.main.views import HOME_PANELS
    from app.plan.home import home_panel as plan_panel
    from rotation.views.home import home_panel

    for panel in (home_panel, plan_panel):
        if panel not in HOME_PANELS:
            HOME_PANELS.append(panel)


def _register_cli(app: Flask) -> None:
    from app.auth.cli import users_cli
    from app.demo import demo_cli
    from app.network.cli import sites_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(sites_cli)
    app.cli.add_command(demo_cli)

    from app.backup.cli import backup_command, restore_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)

    from app.labels.cli import labels_cli

    app.cli.add_command(labels_cli)

    from catalog.cli import catalog_cli

    app.cli.add_command(catalog_cli)

    from catalog.cli.acquisitions import acquisitions_cli

    app.cli.add_command(acquisitions_cli)

    from rotation.cli import rotation_cli

    app.cli.add_command(rotation_cli)

    from app.demo import EXTRA_LOADERS
    from app.plan.demo import load_demo_plan
    from catalog.acquisitions.demo import load_demo_acquisitions
    from catalog.demo import load_demo_catalogue
    from rotation.demo import load_demo_rotation

    # Order matters: acquisitions and rotation use the catalogue's records and copies.
    for loader in (load_demo_plan, load_demo_catalogue, load_demo_acquisitions, load_demo_rotation):
        if loader not in EXTRA_LOADERS:
            EXTRA_LOADERS.append(loader)


def _register_error_pages(app: Flask) -> None:
    from app.extensions import db, login_manager

    def page(code: int, title: str, message: str):
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(403)
    def forbidden(_e):
        return page(403, _("Access denied"), _("Your role does not allow you to open this page."))

    @app.errorhandler(404)
    def not_found(_e):
        return page(404, _("Page not found"), _("The address you opened does not exist."))

    @app.errorhandler(405)
    def not_allowed(_e):
        return page(405, _("Not allowed"), _("This address does not accept that kind of request."))

    @app.errorhandler(413)
    def too_large(_e):
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return page(413, _("File too large"), _("Uploads are limited to %(mb)d MB.", mb=limit))

    @app.errorhandler(429)
    def too_many(_e):
        return page(
            429,
            _("Too many attempts"),
            _("Too many attempts in a short time. Wait a few minutes and try again."),
        )

    @app.errorhandler(CSRFError)
    def csrf_error(_e):
        return page(
            400,
            _("The form has expired"),
            _("The form was open too long or was sent twice. Go back, reload the page and try again."),
        )

    @app.errorhandler(OperationalError)
    @app.errorhandler(ProgrammingError)
    def database_error(e):
        db.session.rollback()
        if getattr(getattr(e, "orig", None), "sqlstate", None) in CONCURRENCY_SQLSTATES:
            # PostgreSQL stopped this transaction (deadlock, serialisation): it was rolled back whole.
            log.warning("transaction stopped by a concurrent one: %s", e)
            return page(
                409,
                _("Changed by someone else at the same moment"),
                _(
                    "Someone else was changing the same copies or records at the same moment, so "
                    "nothing of yours was saved. Go back and try again."
                ),
            )
        log.exception("database error: %s", e)
        # Show the page as to a visitor: asking the database who is signed in would fail again here
        # (and the rollback expired a user already loaded), which would end in a bare 500.
        g._login_user = login_manager.anonymous_user()
        return page(
            503,
            _("The database is not available"),
            _(
                "The application cannot reach its database. Try again in a minute; if it persists, "
                "tell the administrator."
            ),
        )

    @app.errorhandler(500)
    def server_error(_e):
        db.session.rollback()
        return page(500, _("Something went wrong"), _("The error has been logged. Please try again."))


def _register_template_helpers(app: Flask) -> None:
    from app.auth.models import Role
    from app.labels_i18n import role_label, site_kind_label, unit_level_label
    from app.timeutil import to_local

    @app.context_processor
    def _inject():
        return {
            "Role": Role,
            "role_label": role_label,
            "site_kind_label": site_kind_label,
            "unit_level_label": unit_level_label,
            "current_locale": select_locale(),
        }

    @app.template_filter("localtime")
    def _localtime(value, fmt: str = "%d/%m/%Y %H:%M"):
        local = to_local(value)
        return local.strftime(fmt) if local else ""

    @app.template_filter("vndate")
    def _vndate(value):
        return value.strftime("%d/%m/%Y") if value else ""

    @app.before_request
    def _remember_start():
        g.lang = select_locale()
