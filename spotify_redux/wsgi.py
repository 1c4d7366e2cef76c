"""WSGI entry point (gunicorn spotify_redux.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotify_redux.settings")

application = get_wsgi_application()
