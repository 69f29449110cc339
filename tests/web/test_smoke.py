"""The application starts, serves the login page in Vietnamese and reports health."""


def test_login_page_is_vietnamese(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert 'lang="vi"' in response.get_data(as_text=True)


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_home_needs_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_admin_sees_home(logged_in, client):
    logged_in("admin")
    response = client.get("/")
    assert response.status_code == 200
