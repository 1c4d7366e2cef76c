"""Exceptions raised by the ML library.

Every message is a sentence for a person: it names the file (or artifact) and the problem, so the
management commands can pass it on unchanged as a ``CommandError``.
"""

from __future__ import annotations

__all__ = ["ArtifactError", "DataError", "MLError"]


class MLError(Exception):
    """Base class for every error the ``ml`` package raises on purpose."""


class DataError(MLError):
    """An input data file is missing, empty, badly encoded or lacks required columns."""


class ArtifactError(MLError):
    """A model artifact is missing, incomplete, tampered with or internally inconsistent."""
