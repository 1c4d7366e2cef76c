"""Test overrides: a fast password hasher and no model preloading at import.

Everything else (database, cache) comes from the same environment variables as production,
so the suite runs against SQLite + local memory by default and PostgreSQL + Redis in CI.
"""

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MODEL_PRELOAD = False
COVERS_ENABLED = False
# Tests render pages without running collectstatic first.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# Serve static files from the apps' folders (the test runner turns DEBUG off, and there is no collectstatic).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
