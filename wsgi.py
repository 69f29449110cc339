"""WSGI entry point: `gunicorn wsgi:app` (TRAMSACH_ENV=production) or `flask --app wsgi run`."""

import sys

from app.factory import create_app, settle_heap
from config import ConfigError

try:
    app = create_app()
except ConfigError as err:  # a settings problem is a message for the operator, not a traceback
    sys.exit(f"Configuration error: {err}")
settle_heap()
