"""The floors of our own stack: what ``GET /health`` costs in gunicorn alone and in bare Django.

    FLOOR_HEALTH_JSON='{"status": "ok", ...}' .venv/bin/gunicorn --chdir bench floor_django:wsgi_floor ...
    FLOOR_HEALTH_JSON='{"status": "ok", ...}' .venv/bin/gunicorn --chdir bench floor_django:django_floor ...

``bench/serve.py --compare-floor`` starts both under gunicorn with our worker settings (gthread,
the same workers, threads and keep-alive as ``spotify_redux/gunicorn.conf.py``) beside
``bench/floor_app.py`` (FastAPI + uvicorn), so one run splits the gap between our ``/health`` and
the FastAPI floor into its parts:

* ``wsgi floor``: a plain WSGI function returning the JSON: gunicorn's own cost per request;
* ``django floor``: Django answering from one URL pattern and one view returning ``JsonResponse``,
  with no middleware, no installed app, no database, no DRF: Django's own cost on top;
* ours: our middleware, DRF, authentication, metrics and the request log on top of that.

If bare Django under gunicorn is already below a share of the FastAPI floor, no change inside
our code can reach it: only the server or the framework could.
"""

from __future__ import annotations

import json
import os

HEALTH_BODY = json.dumps(
    json.loads(os.environ.get("FLOOR_HEALTH_JSON", '{"status": "ok", "songs_indexed": 0, "model_version": null}'))
).encode()


def wsgi_floor(environ, start_response):
    """Any request: 200 and the health JSON (gunicorn's HTTP parsing and writing, nothing else)."""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(HEALTH_BODY)))])
    return [HEALTH_BODY]


def _django_application():
    """Bare Django, configured and set up on first use (the WSGI floor's process never loads it)."""
    import django
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.http import JsonResponse
    from django.urls import path

    health = json.loads(HEALTH_BODY)

    def health_view(request):
        return JsonResponse(health)

    settings.configure(
        DEBUG=False,
        SECRET_KEY="floor-benchmark-only",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
        USE_I18N=False,
    )
    django.setup()
    globals()["urlpatterns"] = [path("health", health_view)]
    return get_wsgi_application()


def __getattr__(name: str):
    """``floor_django:django_floor`` builds the Django application when gunicorn asks for it."""
    if name == "django_floor":
        globals()["django_floor"] = application = _django_application()
        return application
    raise AttributeError(name)
