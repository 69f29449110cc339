"""Login, logout, password change and the administrators' user pages."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from app.auth import services
from app.auth.forms import ChangePasswordForm, LoginForm, ResetPasswordForm, UserForm, role_choices
from app.auth.models import Role
from app.db import transaction
from app.errors import DomainError
from app.extensions import db, limiter, login_key
from app.network.models import POINT_KINDS, Site
from app.security import any_user, public, redirect_next, roles_required
from app.web import flash_error

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_ATTEMPTS"]


def _address_limit() -> str:
    return current_app.config["LOGIN_ATTEMPTS_PER_ADDRESS"]


def _failed(response) -> bool:
    """Count only failed attempts against the limit (a success redirects)."""
    return response.status_code != 302


def _fresh_session() -> None:
    """Empty the session but for the language, at login and logout (no session fixation).

    Flask keeps the session in a signed cookie. Anything in it before login, above all the raw CSRF
    secret, could have been planted by someone who handed the victim their own anonymous cookie; a
    cleared session gets a new CSRF secret, so tokens seen before login stop working after it.
    """
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, key_func=login_key, methods=["POST"], deduct_when=_failed)
@limiter.limit(_address_limit, methods=["POST"], deduct_when=_failed)
def login():
    """Sign in; the same message for an unknown name and a wrong password."""
    if current_user.is_authenticated:
        return redirect_next(request.args.get("next"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.username.data, form.password.data)
        if user is not None:
            db.session.commit()
            _fresh_session()
            login_user(user, remember=form.remember.data)
            if user.locale:
                session["lang"] = user.locale
            return redirect_next(request.args.get("next"))
        db.session.rollback()
        flash(_("Wrong user name or password."), "error")
        return render_template("auth/login.html", form=form), 200
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@any_user
def logout():
    """Sign out: the whole session is emptied (the language choice stays), the remember cookie goes."""
    _fresh_session()
    logout_user()  # after the clearing: it marks the remember cookie for deletion in the session
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@any_user
def change_password():
    """A user changes their own password; other sessions end."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.change_own_password(
                    db.session, current_user, form.current_password.data, form.new_password.data
                )
        except DomainError as err:
            flash_error(err, form)
        else:
            # Refresh the session token after the version bump (the real object, not the proxy).
            login_user(current_user._get_current_object())
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form)


# --- administrators: users ---


def _point_choices() -> list[tuple[int, str]]:
    sites = db.session.scalars(
        select(Site).where(Site.kind.in_([k.value for k in POINT_KINDS])).order_by(Site.sort_key)
    )
    return [(s.id, f"{s.code} — {s.name}") for s in sites]


@bp.get("/users")
@roles_required(Role.ADMIN)
def users():
    """List every user with role, points and status."""
    return render_template("auth/users.html", users=services.list_users(db.session))


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_new():
    """Create a user."""
    form = UserForm()
    form.role.choices = role_choices()
    form.sites.choices = _point_choices()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("A new user needs a password."))
        else:
            try:
                with transaction(db.session):
                    user = services.create_user(
                        db.session,
                        username=form.username.data,
                        password=form.password.data,
                        role=form.role.data,
                        full_name=form.full_name.data or "",
                        email=form.email.data,
                        site_ids=form.sites.data,
                        actor_id=current_user.id,
                    )
            except DomainError as err:
                flash_error(err, form)
            else:
                flash(_("User %(name)s created.", name=user.username), "success")
                return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    """Edit a user's details, role, points and activation."""
    try:
        user = services.get_user(db.session, user_id)
    except DomainError:
        return render_template(
            "errors/error.html", code=404, title=_("Page not found"), message=_("No such user.")
        ), 404
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    form.role.choices = role_choices()
    form.sites.choices = _point_choices()
    if request.method == "GET":
        form.sites.data = [s.id for s in user.sites]
    reset_form = ResetPasswordForm(prefix="reset")
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.update_user(
                    db.session,
                    user,
                    actor_id=current_user.id,
                    full_name=form.full_name.data or "",
                    email=form.email.data or "",
                    role=form.role.data,
                    is_active=form.is_active.data,
                    site_ids=form.sites.data,
                )
        except DomainError as err:
            flash_error(err, form)
        else:
            flash(_("User %(name)s saved.", name=user.username), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user, reset_form=reset_form)


@bp.post("/users/<int:user_id>/password")
@roles_required(Role.ADMIN)
def user_reset_password(user_id: int):
    """Set a new password for a user."""
    user = services.get_user(db.session, user_id)
    form = ResetPasswordForm(prefix="reset")
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.set_password(db.session, user, form.password.data, actor_id=current_user.id)
        except DomainError as err:
            flash_error(err)
        else:
            flash(_("The password of %(name)s has been reset.", name=user.username), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for("auth.user_edit", user_id=user.id))
