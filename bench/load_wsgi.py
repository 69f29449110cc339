"""WSGI entry point of the load bench: the production app, trusting one proxy hop as behind nginx.

Like wsgi.py (TRAMSACH_ENV=production, settings from the environment), plus TRUST_PROXY_HOPS=1, which
the environment cannot set yet: the bench's simulated users each send their own X-Forwarded-For, so
the per-address limits (login throttle, OPAC 60/minute) count each of them apart, as behind nginx.
"""

import sys

from app.factory import create_app
from config import ConfigError

try:
    app = create_app(overrides={"TRUST_PROXY_HOPS": 1})
except ConfigError as err:
    sys.exit(f"Configuration error: {err}")
