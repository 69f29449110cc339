"""`flask users …`: create users, change roles and reset passwords from the terminal."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from app.auth import services
from app.auth.models import Role
from app.cli_util import AppCommandGroup, domain_errors
from app.db import transaction
from app.extensions import db
from app.network.models import Site

users_cli = AppCommandGroup("users", help="Manage user accounts.")
ROLE_CHOICE = click.Choice([r.value for r in Role])


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _site_ids(codes: tuple[str, ...]) -> list[int]:
    if not codes:
        return []
    found = dict(db.session.execute(select(Site.code, Site.id).where(Site.code.in_(codes))).all())
    missing = [c for c in codes if c not in found]
    if missing:
        raise click.ClickException(f"unknown site code(s): {', '.join(missing)}")
    return [found[c] for c in codes]


def _user(username: str):
    user = services.find_by_username(db.session, username)
    if user is None:
        raise click.ClickException(f"no user named {username!r}")
    return user


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICE, required=True, help="The user's role.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--full-name", default="", help="The person's full name.")
@click.option("--site", "sites", multiple=True, help="Rotation point code (point operators).")
def create(username: str, role: str, password_stdin: bool, full_name: str, sites: tuple[str, ...]):
    """Create a user."""
    password = _read_password(password_stdin)
    with domain_errors(), transaction(db.session):
        user = services.create_user(
            db.session,
            username=username,
            password=password,
            role=role,
            full_name=full_name,
            site_ids=_site_ids(sites),
        )
    click.echo(f"created user {user.username} ({user.role})")


@users_cli.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLE_CHOICE)
@click.option("--site", "sites", multiple=True, help="Rotation point code (point operators).")
def set_role(username: str, role: str, sites: tuple[str, ...]):
    """Give a user another role."""
    with domain_errors(), transaction(db.session):
        user = _user(username)
        services.update_user(
            db.session, user, actor_id=None, role=role, site_ids=_site_ids(sites) if sites else None
        )
    click.echo(f"{user.username} is now {user.role}")


@users_cli.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def reset_password(username: str, password_stdin: bool):
    """Set a new password for a user (their other sessions end)."""
    with domain_errors():
        user = _user(username)
        password = _read_password(password_stdin)
        with transaction(db.session):
            services.set_password(db.session, user, password, actor_id=None)
    click.echo(f"password of {user.username} changed")


@users_cli.command("list")
def list_users():
    """List users with their roles."""
    for user in services.list_users(db.session):
        state = "active" if user.is_active else "inactive"
        points = ",".join(s.code for s in user.sites)
        click.echo(f"{user.username}\t{user.role}\t{state}\t{points}")
