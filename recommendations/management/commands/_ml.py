"""Helpers shared by the ML management commands (settings read at call time, error mapping)."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError


def artifacts_root(option: str | None) -> Path:
    """``--artifacts``/``--out`` if given, else ``settings.ARTIFACTS_DIR`` (read now, not at import)."""
    return Path(option) if option else Path(settings.ARTIFACTS_DIR)


@contextmanager
def ml_errors():
    """Turn the ml package's errors (DataError, ArtifactError, ...) into a CommandError: a clear
    message and a non-zero exit, never a traceback."""
    from ml.errors import MLError

    try:
        yield
    except MLError as exc:
        raise CommandError(str(exc)) from exc
    except OSError as exc:  # e.g. the artifacts directory is not writable
        raise CommandError(f"{exc.strerror or exc}: {exc.filename or ''}".strip(": ")) from exc


def quiet_libraries(verbosity: int = 1) -> None:
    """The command prints its own progress; the library's INFO lines (one per fitted trial) would
    break the progress bars. ``-v 2`` shows them."""
    logging.getLogger("optuna").setLevel(logging.WARNING)
    logging.getLogger("faiss").setLevel(logging.WARNING)
    logging.getLogger("ml").setLevel(logging.INFO if verbosity >= 2 else logging.WARNING)
