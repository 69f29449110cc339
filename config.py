"""Configuration for development, testing and production, read from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("TRAMSACH_INSTANCE", BASE_DIR / "instance"))
DEFAULT_SQLITE = INSTANCE_DIR / "tramsach.db"

WEAK_SECRETS = {"", "dev", "change-me", "changeme", "secret", "development"}


ROTATION_FLAGS = ("ROTATION_ALLOW_RARE", "ROTATION_ALLOW_LOCAL_STUDIES", "ROTATION_REQUIRE_HOME_LIBRARY")


def _flag(name: str, value: str) -> bool:
    """Read a yes/no setting (1/0, true/false, yes/no, on/off); anything else stops the app."""
    folded = value.strip().lower()
    if folded in ("1", "true", "yes", "on"):
        return True
    if folded in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={value!r}: use 1 or 0 (true/false, yes/no)")


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


def normalise_database_url(url: str) -> str:
    """Return a SQLAlchemy URL using the psycopg 3 driver for PostgreSQL; raise ConfigError if unusable."""
    url = url.strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not (url.startswith("sqlite:") or url.startswith("postgresql+psycopg://")):
        raise ConfigError(
            f"DATABASE_URL={url!r} is not supported: use sqlite:///PATH or postgresql://USER:PASS@HOST/DB"
        )
    return url


def _dev_secret_key() -> str:
    """Return a random key kept in the instance folder, so development sessions survive restarts."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class Config:
    """Settings common to every environment."""

    ENV_NAME = "base"
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{DEFAULT_SQLITE}"
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    BASE_URL = "http://127.0.0.1:5000"
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session; forms stay open all day
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_ATTEMPTS = "5 per 15 minutes"  # failed logins per user name and address
    LOGIN_ATTEMPTS_PER_ADDRESS = "30 per 15 minutes"
    IMPORT_DIR = str(INSTANCE_DIR / "imports")  # staged MARC uploads, one folder per import
    IMPORT_INLINE = False  # True runs staging and commit in the request (tests), not a thread
    DEMO_DATA = True
    TESTING = False
    DEBUG = False

    @classmethod
    def from_env(cls) -> dict:
        """Return the settings that the environment overrides."""
        values: dict = {}
        if os.environ.get("DATABASE_URL"):
            values["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(os.environ["DATABASE_URL"])
        if os.environ.get("BASE_URL"):
            values["BASE_URL"] = os.environ["BASE_URL"].rstrip("/")
        if os.environ.get("SECRET_KEY"):
            values["SECRET_KEY"] = os.environ["SECRET_KEY"]
        if os.environ.get("RATELIMIT_STORAGE_URI"):
            values["RATELIMIT_STORAGE_URI"] = os.environ["RATELIMIT_STORAGE_URI"]
        if os.environ.get("IMPORT_DIR"):
            values["IMPORT_DIR"] = os.environ["IMPORT_DIR"]
        if os.environ.get("MAX_UPLOAD_MB"):
            values["MAX_CONTENT_LENGTH"] = int(os.environ["MAX_UPLOAD_MB"]) * 1024 * 1024
        if os.environ.get("TRUST_PROXY_HOPS"):
            # Behind nginx: trust that many X-Forwarded-* hops (per-client login throttling, https URLs).
            values["TRUST_PROXY_HOPS"] = int(os.environ["TRUST_PROXY_HOPS"])
        # The rotation stock rules (rotation/rules.py); the defaults follow Circular 33/2018.
        for name in ROTATION_FLAGS:
            if os.environ.get(name):
                values[name] = _flag(name, os.environ[name])
        if os.environ.get("ROTATION_MIN_COPIES_PER_TITLE"):
            values["ROTATION_MIN_COPIES_PER_TITLE"] = int(os.environ["ROTATION_MIN_COPIES_PER_TITLE"])
        return values


class DevelopmentConfig(Config):
    """Local use: the embedded SQLite file, demo data, a generated secret key."""

    ENV_NAME = "development"

    @classmethod
    def from_env(cls) -> dict:
        values = super().from_env()
        values.setdefault("SECRET_KEY", _dev_secret_key())
        return values


class TestingConfig(Config):
    """The test suite: a database URL given by the fixtures, no rate-limit carry-over."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105
    SERVER_NAME = None
    DEMO_DATA = True

    @classmethod
    def from_env(cls) -> dict:
        return {}


class ProductionConfig(Config):
    """Production: PostgreSQL behind gunicorn, a real secret key, secure cookies, no demo data."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    DEMO_DATA = False

    @classmethod
    def from_env(cls) -> dict:
        values = super().from_env()
        key = values.get("SECRET_KEY", "")
        if key.lower() in WEAK_SECRETS or len(key) < 32:
            raise ConfigError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production "
                '(for example: python -c "import secrets; print(secrets.token_hex(32))")'
            )
        return values


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> tuple[type[Config], dict]:
    """Return the config class named by `name` or TRAMSACH_ENV, and the environment overrides."""
    name = name or os.environ.get("TRAMSACH_ENV", "development")
    if name not in CONFIGS:
        raise ConfigError(f"TRAMSACH_ENV={name!r} is unknown; use one of {', '.join(CONFIGS)}")
    cls = CONFIGS[name]
    return cls, cls.from_env()
