"""Configuration from the environment: database URL, secret key, base URL."""

import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, get_config, normalise_database_url

ROOT = Path(__file__).resolve().parents[2]


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_unsupported_database_url_is_a_clear_error():
    with pytest.raises(ConfigError, match="not supported"):
        normalise_database_url("mysql://u@h/db")


@pytest.mark.parametrize("secret", [None, "", "dev", "short-but-not-weak"])
def test_production_refuses_a_weak_secret_key(monkeypatch, secret):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    if secret is not None:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        get_config("production")


def test_production_accepts_a_real_secret_and_secures_cookies(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("BASE_URL", "https://thuvien.sonla.gov.vn/")
    cls, values = get_config("production")
    assert cls.SESSION_COOKIE_SECURE is True and cls.SESSION_COOKIE_HTTPONLY is True
    assert cls.DEMO_DATA is False
    assert values["BASE_URL"] == "https://thuvien.sonla.gov.vn"


def _flask(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_wrong_database_url_gives_a_message_not_a_traceback(tmp_path):
    import os

    env = {**os.environ, "DATABASE_URL": "mysql://nobody@nowhere/db", "TRAMSACH_INSTANCE": str(tmp_path)}
    result = _flask("users", "list", env=env)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr and "not supported" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_gives_a_message_not_a_traceback(tmp_path):
    import os

    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
        "TRAMSACH_INSTANCE": str(tmp_path),
    }
    result = _flask("users", "list", env=env)
    assert result.returncode == 1
    assert "database error" in result.stderr
    assert "Traceback" not in result.stderr


def test_unmigrated_database_from_the_cli_names_the_command(tmp_path):
    import os

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
        "TRAMSACH_INSTANCE": str(tmp_path),
    }
    result = _flask("users", "list", env=env)
    assert result.returncode == 1
    assert "db upgrade" in result.stderr


def test_rotation_stock_rules_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ROTATION_ALLOW_LOCAL_STUDIES", "yes")
    monkeypatch.setenv("ROTATION_ALLOW_RARE", "0")
    monkeypatch.setenv("ROTATION_MIN_COPIES_PER_TITLE", "5")
    _cls, values = get_config("development")
    assert values["ROTATION_ALLOW_LOCAL_STUDIES"] is True
    assert values["ROTATION_ALLOW_RARE"] is False
    assert values["ROTATION_MIN_COPIES_PER_TITLE"] == 5
    assert "ROTATION_REQUIRE_HOME_LIBRARY" not in values  # unset: the code's default (True) applies


def test_a_wrong_yes_no_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("ROTATION_ALLOW_LOCAL_STUDIES", "maybe")
    with pytest.raises(ConfigError, match="ROTATION_ALLOW_LOCAL_STUDIES"):
        get_config("development")


def test_the_batch_scan_follows_the_local_studies_setting(app, monkeypatch):
    """The rule's setting reaches the scan view's StockRules."""
    from rotation.views.batches import stock_rules

    with app.test_request_context():
        assert stock_rules().allow_local_studies is False
        monkeypatch.setitem(app.config, "ROTATION_ALLOW_LOCAL_STUDIES", True)
        assert stock_rules().allow_local_studies is True


def test_the_wsgi_entry_point_freezes_the_startup_heap(tmp_path):
    """Long-lived objects are out of the collector's reach before the first request (wsgi.py)."""
    env = {"PATH": "/usr/bin:/bin", "TRAMSACH_INSTANCE": str(tmp_path), "TRAMSACH_ENV": "development"}
    out = subprocess.run(
        [sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(out.stdout.strip().splitlines()[-1]) > 50_000
