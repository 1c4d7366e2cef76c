"""What an outage of a backing service looks like, and the cheap probes readiness uses.

The service depends on three things besides its own code: the published model (in memory), the
database and the cache. This module names the exceptions each backend raises when its server is
unreachable, so callers catch exactly those (never a bare ``Exception``), and gives
``/health/ready`` one probe per part.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

#: Errors a cache backend raises when its server is unreachable (django-redis wraps redis-py's).
CACHE_ERRORS = (ConnectionInterrupted, RedisError, OSError)

#: Errors the database driver raises when the server is down, restarting or refusing connections.
#: ``OperationalError`` covers refused/closed connections and "the database system is shutting
#: down"; ``InterfaceError`` a connection object that was closed under us.
DATABASE_ERRORS = (OperationalError, InterfaceError)

#: Seconds a client is asked to wait (``Retry-After``) before retrying while the database is down.
DATABASE_RETRY_AFTER_S = 5

_READY_PROBE_KEY = "health:ready-probe"

# Rate-limit the outage warnings: a dead cache would otherwise log once per request.
_WARN_EVERY_S = 10.0
_last_warned: dict[str, float] = {}


def warn_degraded(part: str, message: str, *args, log: logging.Logger = logger) -> None:
    """Log ``message`` as a warning at most once per ``_WARN_EVERY_S`` for each ``part``: during an
    outage every request meets it, and a log line per request would be a second outage."""
    now = time.monotonic()
    if now - _last_warned.get(part, -_WARN_EVERY_S) >= _WARN_EVERY_S:
        _last_warned[part] = now
        log.warning(message, *args)


def database_problem() -> str | None:
    """None when the database answers ``SELECT 1``, else a sentence saying why not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # Leave no broken connection behind for the next request of this thread.
        connection.close_if_unusable_or_obsolete()
        # The driver's message names hosts and ports: it goes to the log, not to the (public) answer.
        first_line = (str(exc).strip().splitlines() or ["no message"])[0]
        warn_degraded("database-probe", "Readiness: the database does not answer: %s", first_line)
        return f"The database does not answer ({type(exc).__name__})."
    return None


def cache_problem() -> str | None:
    """None when the cache stores and returns a value, else a sentence saying why not."""
    try:
        cache.set(_READY_PROBE_KEY, 1, timeout=10)
        if cache.get(_READY_PROBE_KEY) != 1:
            return "The cache does not keep values."
    except CACHE_ERRORS as exc:
        return f"The cache does not answer ({type(exc).__name__})."
    return None
