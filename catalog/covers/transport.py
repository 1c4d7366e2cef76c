"""HTTP GET with a hard deadline, for the cover providers (stdlib ``http.client`` only).

Why not ``urllib.request``, ``requests`` or ``httpx``: their timeouts bound each socket
operation, not the whole request, so a server that trickles bytes can hold a caller for many
times the timeout. Here every connect, send and read gets only the time left until the
deadline, which is what lets the provider chain promise a total budget.

(Name resolution is the one step a socket timeout does not bound; the public services resolve
from a local resolver cache in practice, and tests use 127.0.0.1.)
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urljoin, urlsplit

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 3
READ_CHUNK_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class ProviderError(Exception):
    """A provider failed (network error, HTTP error, unreadable answer): counts against its breaker."""


class ProviderTimeout(ProviderError):
    """A provider did not answer in time.

    ``budget_cut`` is True when the chain's remaining budget, not the provider's own timeout, was
    the binding limit: then the provider is not to blame and the breaker does not count it.
    """

    def __init__(self, message: str, *, budget_cut: bool):
        super().__init__(message)
        self.budget_cut = budget_cut


class ProviderSkipped(Exception):
    """A provider was not asked (rate limit slot not available in time); not its fault."""


@dataclass
class Budget:
    """The time a look-up may take: ``timeout_s`` per HTTP request, all of it before ``deadline``."""

    deadline: float  # time.monotonic() value
    timeout_s: float

    @classmethod
    def start(cls, *, budget_s: float, timeout_s: float) -> Budget:
        return cls(deadline=time.monotonic() + budget_s, timeout_s=timeout_s)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def request_deadline(self) -> tuple[float, bool]:
        """(deadline for one request, whether the chain budget rather than the timeout sets it)."""
        own = time.monotonic() + self.timeout_s
        return (self.deadline, True) if self.deadline <= own else (own, False)


@dataclass(frozen=True)
class HttpResponse:
    url: str
    status: int
    body: bytes

    def json(self) -> Any:
        """The body as JSON; anything but a 200 with valid JSON is the provider's failure."""
        if self.status != 200:
            raise ProviderError(f"{self.url}: HTTP {self.status}")
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python can parse
            raise ProviderError(f"{self.url}: response is not usable JSON ({exc})") from None


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def http_get(url: str, *, budget: Budget, user_agent: str) -> HttpResponse:
    """GET ``url`` (following up to MAX_REDIRECTS redirects) within ``budget``.

    Returns 2xx and 404 responses (404 is an answer: "no such thing"); raises ProviderTimeout when
    time runs out and ProviderError for anything else (connection errors, 429, 5xx, other 4xx,
    bodies over MAX_BODY_BYTES).
    """
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ProviderError(f"{url!r} is not an http(s) URL")
        deadline, budget_cut = budget.request_deadline()
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            port = parts.port
        except ValueError:
            raise ProviderError(f"{url!r} has an invalid port") from None
        if parts.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, port, timeout=_left(deadline, budget_cut, url), context=_tls_context()
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname, port, timeout=_left(deadline, budget_cut, url))
        try:
            conn.request(
                "GET", target, headers={"User-Agent": user_agent, "Accept": "application/json", "Connection": "close"}
            )
            # Keep our own reference: http.client drops conn.sock once the response owns it.
            sock = conn.sock
            sock.settimeout(_left(deadline, budget_cut, url))
            response = conn.getresponse()
            if response.status in REDIRECT_STATUSES:
                location = response.getheader("Location")
                if not location:
                    raise ProviderError(f"{url}: HTTP {response.status} without a Location")
                url = urljoin(url, location)
                continue
            if not (200 <= response.status < 300 or response.status == 404):
                raise ProviderError(f"{url}: HTTP {response.status}")
            return HttpResponse(
                url=url, status=response.status, body=_read_body(response, sock, deadline, budget_cut, url)
            )
        except TimeoutError:
            raise ProviderTimeout(f"{url}: no answer in time", budget_cut=budget_cut) from None
        except (OSError, http.client.HTTPException) as exc:
            raise ProviderError(f"{url}: {type(exc).__name__}: {exc}") from None
        finally:
            conn.close()
    raise ProviderError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _left(deadline: float, budget_cut: bool, url: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ProviderTimeout(f"{url}: no answer in time", budget_cut=budget_cut)
    return left


def _read_body(
    response: http.client.HTTPResponse, sock: socket.socket, deadline: float, budget_cut: bool, url: str
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        sock.settimeout(_left(deadline, budget_cut, url))
        chunk = response.read1(READ_CHUNK_BYTES)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ProviderError(f"{url}: response larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
