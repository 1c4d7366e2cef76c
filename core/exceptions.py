"""The project's few domain exceptions and the one DRF handler that shapes every error.

Every error leaves the API as ``{"detail": <sentence>, "code": <machine code>}``, plus
``"errors": {field: [messages]}`` for validation failures, whatever raised it: our domain
code, DRF, simplejwt or Django.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from .availability import DATABASE_ERRORS, DATABASE_RETRY_AFTER_S, warn_degraded


class ApplicationError(Exception):
    """A client-facing failure of a domain rule; subclasses set the HTTP status and code."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra or {}


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class ModelNotReadyError(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "model_not_ready"


DATABASE_UNAVAILABLE_DETAIL = "The database is unavailable; retry shortly."


def error_body(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "code": code, **extra}


def _first_message(errors: Any) -> str | None:
    if isinstance(errors, dict):
        for field, value in errors.items():
            message = _first_message(value)
            if message:
                return message if field == "non_field_errors" else f"{field}: {message}"
    elif isinstance(errors, list):
        for value in errors:
            message = _first_message(value)
            if message:
                return message
    elif errors:
        return str(errors)
    return None


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation errors as the documented flat ``{field: [messages]}``.

    A list item's errors are keyed ``field[index]`` and a nested object's ``field.key``, so
    ``{"seeds": {0: ["..."]}}`` becomes ``{"seeds[0]": ["..."]}``.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            path = f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, path))
    elif isinstance(errors, list) and any(isinstance(value, dict | list) for value in errors):
        for index, value in enumerate(errors):
            if value:  # DRF's ListSerializer puts {} for the valid items
                flat.update(flatten_errors(value, f"{prefix}[{index}]"))
    else:
        messages = errors if isinstance(errors, list) else [errors]
        flat[prefix or "non_field_errors"] = [str(message) for message in messages]
    return flat


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.detail, exc.code, **exc.extra), status=exc.status_code)
    if isinstance(exc, DATABASE_ERRORS):
        # The database is down or restarting: a state to wait out, not a bug. Django drops the
        # broken connection at the end of the request and reconnects on the next one.
        warn_degraded("database", "Database unavailable (%s): answering 503.", type(exc).__name__)
        response = Response(error_body(DATABASE_UNAVAILABLE_DETAIL, "database_unavailable"), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        # The rate-limited warning above stands for Django's one ERROR line per 5xx response,
        # which during an outage would flood the log at the request rate.
        response._has_been_logged = True
        return response
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a genuine server bug: Django logs it and handler500 answers in JSON

    if isinstance(exc, drf_exceptions.ValidationError):
        errors = flatten_errors(exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail})
        first = _first_message(errors) or "Invalid input."
        response.data = error_body(f"Invalid input: {first}", "invalid", errors=errors)
    elif isinstance(exc, drf_exceptions.APIException):
        detail = exc.detail
        if isinstance(detail, dict):
            # simplejwt puts a dict here ({"detail", "code", "messages"}).
            code = str(detail.get("code", exc.default_code))
            text = str(detail.get("detail", exc.default_detail))
        else:
            code = detail.code if hasattr(detail, "code") and detail.code else exc.default_code
            text = str(detail)
        response.data = error_body(text, str(code))
    return response
