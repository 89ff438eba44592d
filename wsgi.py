"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from intake import create_app

app = create_app()
