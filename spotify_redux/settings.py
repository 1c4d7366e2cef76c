"""Settings for spotify-redux, read from the environment.

Every variable is documented in the README with its default. Defaults give a working
single-machine service (SQLite file, local-memory cache, demo model under ``var/``);
production sets ``DEBUG=0``, a real ``API_SECRET_KEY``, ``DATABASE_URL`` and ``REDIS_URL``.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "dev-secret-change-me"
MIN_SECRET_KEY_CHARS = 32


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def env_number(name: str, default: float, *, kind: type = float, minimum: float | None = None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a {kind.__name__}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in env_str(name, default).split(",") if part.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("API_SECRET_KEY", DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < MIN_SECRET_KEY_CHARS):
    raise ImproperlyConfigured(
        f"API_SECRET_KEY must be set to a random string of at least {MIN_SECRET_KEY_CHARS} characters "
        "when DEBUG is off, e.g. API_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")

# Where runtime data lives (SQLite file, model artifacts); never committed.
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))
ARTIFACTS_DIR = Path(env_str("ARTIFACTS_DIR", str(DATA_DIR / "artifacts")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "catalog",
    "likes",
    "recommendations",
]

MIDDLEWARE = [
    "core.middleware.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "core.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.middleware.AuthenticationMiddleware",
    "core.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# The core.middleware cookie layers above (Django's, subclassed; CSRF stays Django's own) run
# only for the web pages (these exact paths), the admin (these prefixes) and requests that carry a
# session cookie (the pages' scripts calling the API). A bearer-token client pays nothing for sessions, the middleware's
# request.user and messages. Add the path of any new page that uses cookies here.
COOKIE_PATHS = frozenset({"/", "/welcome", "/model", "/signup", "/login", "/logout"})
COOKIE_PATH_PREFIXES = ["/admin/"]

ROOT_URLCONF = "spotify_redux.urls"
WSGI_APPLICATION = "spotify_redux.wsgi.application"
# The mobile client calls paths exactly as written, without trailing slashes.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

SQLITE_PATH = DATA_DIR / "users.db"
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}", conn_max_age=600, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE transactions take the write lock at BEGIN, so concurrent writers queue up
    # (within the timeout) instead of failing with "database is locked" half-way through.
    # Connections persist (CONN_MAX_AGE as for PostgreSQL, one per worker thread): opening one per
    # request ran the PRAGMAs below and closed the file every time, ~0.4 ms of a signed-in
    # request's ~2.5 ms (bench/profile_endpoints.py). No lock is held between transactions. Stop
    # the server before replacing or restoring users.db: open connections keep the old file.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "spotify-redux"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.LocalMemoryCache",
            "LOCATION": "spotify-redux",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Request bodies: the API takes small JSON documents only.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
# Bearer tokens travel in a header, never in cookies: credentials are never needed cross-origin.
CORS_ALLOW_CREDENTIALS = False
if "*" in CORS_ALLOWED_ORIGINS:
    CORS_ALLOWED_ORIGINS = []
    CORS_ALLOW_ALL_ORIGINS = True

TOKEN_EXPIRE_HOURS = env_number("TOKEN_EXPIRE_HOURS", 24, kind=float, minimum=0.01)
LIKED_WEIGHT = env_number("LIKED_WEIGHT", 2.0, kind=float, minimum=0.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.FirstRendererWhenAnyWill",
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env_str("THROTTLE_AUTH_RATE", "30/minute"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Throttles identify a client by its address. 0: REMOTE_ADDR, never a client-sent
    # X-Forwarded-For (DRF's default would trust it, so a forged header escapes the throttle).
    # Behind N trusted reverse proxies, set NUM_PROXIES=N.
    "NUM_PROXIES": env_number("NUM_PROXIES", 0, kind=int, minimum=0),
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(hours=TOKEN_EXPIRE_HOURS),
    # A key derived for JWTs only, so tokens and Django's own signatures never share a key.
    "SIGNING_KEY": hashlib.sha256(b"spotify-redux-jwt:" + SECRET_KEY.encode()).hexdigest(),
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "spotify-redux API",
    "DESCRIPTION": "Music search, onboarding and recommendations from a matrix-factorisation model.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],  # the docs are public: a stale token in the browser must not hide them
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Recommendation serving.
MMR_LAMBDA = env_number("MMR_LAMBDA", 0.8, kind=float, minimum=0.0)
MAX_SONGS_PER_ARTIST = env_number("MAX_SONGS_PER_ARTIST", 2, kind=int, minimum=1)
# Load the model when a server process starts (runserver/gunicorn), not for every command.
MODEL_PRELOAD = env_bool("MODEL_PRELOAD", True)

# Cover art (catalog/covers.py). Base URLs are settings so tests can point them at a local fake.
COVERS_ENABLED = env_bool("COVERS_ENABLED", True)
COVER_ITUNES_URL = env_str("COVER_ITUNES_URL", "https://itunes.apple.com")
COVER_DEEZER_URL = env_str("COVER_DEEZER_URL", "https://api.deezer.com")
COVER_MUSICBRAINZ_URL = env_str("COVER_MUSICBRAINZ_URL", "https://musicbrainz.org")
COVER_ART_ARCHIVE_URL = env_str("COVER_ART_ARCHIVE_URL", "https://coverartarchive.org")
COVER_TIMEOUT_S = env_number("COVER_TIMEOUT_S", 2.0, kind=float, minimum=0.05)
COVER_BUDGET_S = env_number("COVER_BUDGET_S", 4.0, kind=float, minimum=0.05)
# Cache lifetimes: a found cover, a definite "no cover", and a look-up a failing provider cut short.
COVER_HIT_TTL_S = env_number("COVER_HIT_TTL_S", 30 * 24 * 3600, kind=int, minimum=1)
COVER_MISS_TTL_S = env_number("COVER_MISS_TTL_S", 24 * 3600, kind=int, minimum=1)
COVER_RETRY_TTL_S = env_number("COVER_RETRY_TTL_S", 600, kind=int, minimum=1)
# Circuit breaker: skip a provider for the cool-down after this many consecutive failures.
COVER_BREAKER_FAILURES = env_number("COVER_BREAKER_FAILURES", 5, kind=int, minimum=1)
COVER_BREAKER_COOLDOWN_S = env_number("COVER_BREAKER_COOLDOWN_S", 60.0, kind=float, minimum=0.1)
# MusicBrainz allows one request per second per client; keep >= 1 against the public service.
COVER_MUSICBRAINZ_INTERVAL_S = env_number("COVER_MUSICBRAINZ_INTERVAL_S", 1.0, kind=float, minimum=0.0)
# Background fill per process: threads, and how many songs may wait (more are dropped, not blocked on).
COVER_WORKERS = env_number("COVER_WORKERS", 2, kind=int, minimum=1)
COVER_QUEUE_MAX = env_number("COVER_QUEUE_MAX", 1000, kind=int, minimum=1)
# MusicBrainz asks every client to identify itself with a contact: "app/version ( email or URL )".
COVER_USER_AGENT = env_str("COVER_USER_AGENT", "spotify-redux/1.0 ( cover-art look-ups; no contact configured )")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Observability (core/metrics.py, core/middleware.py): /metrics access and the per-request log line.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
REQUEST_LOG = env_bool("REQUEST_LOG", True)
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json.")
if LOG_FORMAT == "json":
    LOGGING["formatters"]["json"] = {"()": "core.log_format.JsonFormatter"}
    LOGGING["handlers"]["console"]["formatter"] = "json"

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)

# The web pages (templates/, static/). They sign in with Django's session: an HttpOnly, SameSite
# cookie that page scripts cannot read, ended server-side on log-out, with Django's CSRF check on
# every write. Their scripts call the same JSON API; the session is accepted after the bearer token,
# so API clients (the mobile app) see no change. Why not a token in localStorage: README, "The web page".
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] += ["rest_framework.authentication.SessionAuthentication"]
STATICFILES_DIRS = [BASE_DIR / "static"]
LOGIN_URL = "login"
# Production behind a reverse proxy that terminates TLS (README "Production", docs/SECURITY.md).
# With the documented environment `manage.py check --deploy` reports no issue. Off by default, so
# `make run` and plain-HTTP benchmarks are unchanged.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    # Only behind a proxy that sets (and overwrites) X-Forwarded-Proto; otherwise a client could claim https.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Load-balancer probes may speak plain HTTP to the instance.
SECURE_REDIRECT_EXEMPT = [r"^health(/ready)?$"]
SECURE_HSTS_SECONDS = env_number("SECURE_HSTS_SECONDS", 0, kind=int, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# A PostgreSQL that does not answer (network partition) must cost a request seconds, not a
# worker timeout: it answers 503 database_unavailable instead.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_number("DB_CONNECT_TIMEOUT_S", 3, kind=int, minimum=1)
    )
