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


def require_migrated_database() -> None:
    """Stop with a sentence, before any work, when the catalog table does not exist yet (a new
    DATA_DIR or DATABASE_URL that was never migrated); publishing would otherwise end in a traceback."""
    from django.db import DatabaseError, connection

    from catalog.models import Song

    try:
        tables = connection.introspection.table_names()
    except DatabaseError as exc:
        raise CommandError(f"The database cannot be reached: {exc}".strip()) from exc
    if Song._meta.db_table not in tables:
        raise CommandError(
            f"The database {connection.settings_dict['NAME']} has no catalog table yet: run "
            "`manage.py migrate` first (the README's run command does)."
        )


def publish_version(root: Path, version: str, items: list[dict], stdout) -> None:
    """Make ``version`` the one served: its songs into the catalog (one transaction), then
    ``current`` switched (after a full hash check, see ``ml.artifacts.set_current``). The catalog
    goes first so no instance serves a song that search cannot find; every instance picks up the
    new ``current`` within ``model_store.RELOAD_CHECK_S``."""
    from catalog.services import catalog_publish
    from ml import artifacts

    counts = catalog_publish(items=items, model_version=version)
    stdout.write(
        f"Catalog: {counts.get('created', 0)} created, {counts.get('updated', 0)} updated, "
        f"{counts.get('retired', 0)} retired (kept for likes, hidden from search)."
    )
    with ml_errors():
        artifacts.set_current(root, version)
