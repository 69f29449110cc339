"""WSGI entry point: `gunicorn wsgi:app` (TRAMSACH_ENV=production) or `flask --app wsgi run`."""

from app.factory import create_app

app = create_app()
