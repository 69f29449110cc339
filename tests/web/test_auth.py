"""Login, throttling, passwords, user management pages and the `flask users` commands."""

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from tests.conftest import DEFAULT_PASSWORD, post_form


def test_login_and_logout(client, make_user, login):
    user = make_user(role="cataloguer")
    login(user)
    assert client.get("/").status_code == 200
    response = post_form(client, "/logout", {}, page="/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_passwords_are_hashed(session, make_user):
    user = make_user(role="viewer", password="mot-mat-khau-dai")
    assert "mot-mat-khau-dai" not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_wrong_password_and_unknown_user_get_the_same_answer(client, make_user):
    user = make_user(role="viewer")
    wrong = post_form(client, "/login", {"username": user.username, "password": "sai-mat-khau"})
    unknown = post_form(client, "/login", {"username": "khong-ton-tai", "password": "sai-mat-khau"})
    assert wrong.status_code == unknown.status_code == 200
    text_wrong = wrong.get_data(as_text=True)
    text_unknown = unknown.get_data(as_text=True)
    assert "Sai tên đăng nhập hoặc mật khẩu" in text_wrong
    assert "Sai tên đăng nhập hoặc mật khẩu" in text_unknown


def test_login_is_throttled_after_repeated_failures(client, make_user):
    user = make_user(role="viewer")
    for _ in range(5):
        response = post_form(client, "/login", {"username": user.username, "password": "sai-mat-khau"})
        assert response.status_code == 200
    blocked = post_form(client, "/login", {"username": user.username, "password": DEFAULT_PASSWORD})
    assert blocked.status_code == 429
    # Another user from the same address is not locked out by someone else's failures.
    other = make_user(role="viewer")
    ok = post_form(client, "/login", {"username": other.username, "password": DEFAULT_PASSWORD})
    assert ok.status_code == 302


def test_successful_logins_do_not_count_against_the_limit(client, make_user):
    user = make_user(role="viewer")
    for _ in range(7):
        assert (
            post_form(client, "/login", {"username": user.username, "password": DEFAULT_PASSWORD}).status_code
            == 302
        )
        post_form(client, "/logout", {}, page="/")


def test_inactive_user_cannot_log_in(client, session, make_user):
    user = make_user(role="viewer")
    user.is_active = False
    session.commit()
    response = post_form(client, "/login", {"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200


def test_open_redirect_is_refused(client, make_user):
    user = make_user(role="viewer")
    html = client.get("/login?next=https://evil.example/").get_data(as_text=True)
    assert html
    response = post_form(
        client,
        "/login?next=https://evil.example/",
        {"username": user.username, "password": DEFAULT_PASSWORD},
        page="/login",
    )
    assert response.headers["Location"] == "/"


def test_change_password_ends_other_sessions(app, client, make_user, login):
    user = make_user(role="cataloguer")
    login(user)
    second = app.test_client()
    post_form(second, "/login", {"username": user.username, "password": DEFAULT_PASSWORD})
    assert second.get("/").status_code == 200
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": "mat-khau-moi-123",
            "confirm": "mat-khau-moi-123",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session stays
    assert second.get("/").status_code == 302  # the other one ends


def test_change_password_wrong_current(client, make_user, login):
    user = make_user(role="cataloguer")
    login(user)
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": "khong-dung-1",
            "new_password": "mat-khau-moi-123",
            "confirm": "mat-khau-moi-123",
        },
    )
    assert response.status_code == 200
    assert "Mật khẩu hiện tại không đúng" in response.get_data(as_text=True)


def test_admin_creates_edits_and_resets_user(client, session, logged_in, make_site):
    admin = logged_in("admin")
    point = make_site()
    response = post_form(
        client,
        "/users/new",
        {
            "username": "Nguoi.Van.Hanh",
            "full_name": "Lò Thị Hoa",
            "role": "point_operator",
            "sites": [str(point.id)],
            "password": "mat-khau-diem-1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    user = session.scalar(select(User).where(User.username == "nguoi.van.hanh"))
    assert user.role == Role.POINT_OPERATOR and user.site_ids == {point.id}
    response = post_form(
        client,
        f"/users/{user.id}",
        {"username": user.username, "full_name": "Lò Thị Hoa", "role": "viewer", "is_active": "y"},
    )
    assert response.status_code == 302
    session.refresh(user)
    assert user.role == "viewer" and user.sites == []
    response = post_form(
        client, f"/users/{user.id}/password", {"reset-password": "mat-khau-moi-9"}, page=f"/users/{user.id}"
    )
    assert response.status_code == 302
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user.id))
        .order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["user.create", "user.update", "user.reset_password"]
    assert all(e.actor_id == admin.id for e in events)
    assert events[1].changes["role"] == ["point_operator", "viewer"]


def test_point_operator_needs_a_point(client, logged_in):
    logged_in("admin")
    response = post_form(
        client, "/users/new", {"username": "diem", "role": "point_operator", "password": "mat-khau-diem-1"}
    )
    assert response.status_code == 200
    assert "ít nhất một điểm luân chuyển" in response.get_data(as_text=True)


def test_last_admin_cannot_demote_themselves(client, session, logged_in):
    admin = logged_in("admin")
    response = post_form(
        client, f"/users/{admin.id}", {"username": admin.username, "role": "viewer", "is_active": "y"}
    )
    assert response.status_code == 200
    session.refresh(admin)
    assert admin.role == "admin"


def test_html_in_user_name_is_escaped(client, session, logged_in, make_user):
    logged_in("admin")
    make_user(role="viewer", full_name="<script>alert(1)</script>")
    html = client.get("/users").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_cli_create_set_role_and_reset_password(runner, session, client):
    result = runner.invoke(
        args=["users", "create", "Thuthu", "--role", "cataloguer", "--password-stdin"],
        input="mat-khau-cli-1\n",
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "thuthu"))
    assert user.role == "cataloguer"
    result = runner.invoke(args=["users", "set-role", "thuthu", "rotation"])
    assert result.exit_code == 0, result.output
    session.refresh(user)
    assert user.role == "rotation"
    result = runner.invoke(
        args=["users", "reset-password", "thuthu", "--password-stdin"], input="mat-khau-cli-2\n"
    )
    assert result.exit_code == 0, result.output
    assert (
        post_form(client, "/login", {"username": "thuthu", "password": "mat-khau-cli-2"}).status_code == 302
    )


def test_cli_errors_are_one_line(runner, make_user):
    make_user(role="viewer", username="trung")
    result = runner.invoke(
        args=["users", "create", "trung", "--role", "viewer", "--password-stdin"], input="mat-khau-cli-1\n"
    )
    assert result.exit_code == 1
    assert "already taken" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(
        args=["users", "create", "ngan", "--role", "viewer", "--password-stdin"], input="ngan\n"
    )
    assert result.exit_code == 1 and "at least 8" in result.output
    result = runner.invoke(args=["users", "set-role", "khong-co", "viewer"])
    assert result.exit_code == 1 and "no user named" in result.output
    result = runner.invoke(
        args=["users", "create", "x1", "--role", "boss", "--password-stdin"], input="mat-khau-1234\n"
    )
    assert result.exit_code == 2
