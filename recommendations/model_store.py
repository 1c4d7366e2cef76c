"""The one place that knows how the published model is loaded and held in memory.

``model_store`` is the process-wide singleton. ``RecommendationsConfig.ready()`` preloads it in
serving processes (with gunicorn's ``preload_app`` the master loads once and workers share the
pages); elsewhere it loads lazily on first use. It checks the ``current`` pointer at most once per
``RELOAD_CHECK_S`` and swaps in a newly published model without a restart. A set of artifacts
that fails verification is refused with a log line and the API answers 503 ``model_not_ready``
until a good set is published; a failed version is not retried until the pointer changes.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings

from catalog.covers.store import set_synthetic_catalog
from catalog.search_index import SongSearchIndex
from core import metrics
from core.exceptions import ModelNotReadyError
from ml.served import RankingModel
from ml.text import normalise_song_key
from ml.two_stage import artist_codes_of

logger = logging.getLogger(__name__)

RELOAD_CHECK_S = 1.0
#: Manifest key, true for a model trained on synthetic data (``ensure_model``'s demo).
SYNTHETIC_DATA_KEY = "synthetic_data"


@dataclass(frozen=True)
class ServingModel:
    """A loaded, verified model plus the look-up tables serving needs."""

    version: str
    ranking: RankingModel  # what ml.served ranks with: vectors + index, item graph, scorer
    song_ids: list[str]
    artists: list[str]
    titles: list[str]
    popularity: np.ndarray  # int64 [n]
    artist_codes: np.ndarray  # int32 [n]: equal codes = same artist (for the per-artist cap)
    popular_rows: np.ndarray  # int64 rows, most popular first (ties by row)
    centroid: np.ndarray  # float32 [d]: unit popularity-weighted mean vector, the "average listener"
    row_by_song_id: dict[str, int] = field(repr=False)
    row_by_match_key: dict[str, int] = field(repr=False)
    song_search_index: SongSearchIndex = field(repr=False)  # catalog search without a query
    manifest: dict = field(default_factory=dict, repr=False)  # the version's manifest.json (model page)

    @property
    def size(self) -> int:
        return len(self.song_ids)

    @property
    def vectors(self) -> np.ndarray:
        """float32 [n, d], the unit SVD vectors the index was built over."""
        return self.ranking.vectors

    def resolve(self, song_id: str) -> int | None:
        """Row of the song a client means: exact song_id first, then the normalised key."""
        row = self.row_by_song_id.get(song_id)
        if row is None:
            row = self.row_by_match_key.get(normalise_song_key(song_id))
        return row


def serving_model_from(loaded) -> ServingModel:
    items = loaded.items
    song_ids = [item["song_id"] for item in items]
    artists = [item["artist"] for item in items]
    titles = [item["title"] for item in items]
    popularity = np.asarray([int(item.get("popularity", 0)) for item in items], dtype=np.int64)
    artist_codes = artist_codes_of(artists)
    by_popularity = np.lexsort((np.arange(len(song_ids)), -popularity))
    row_by_match_key: dict[str, int] = {}
    for row in by_popularity.tolist():
        # Visiting the most popular first, so a normalised-key collision resolves to it.
        row_by_match_key.setdefault(normalise_song_key(song_ids[row]), row)
    vectors = np.ascontiguousarray(loaded.vectors, dtype=np.float32)
    centroid = (popularity.astype(np.float32) + 1.0) @ vectors
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    return ServingModel(
        version=loaded.version,
        ranking=RankingModel(
            vectors=vectors,
            index=loaded.index,
            graph=loaded.graph,
            scorer=loaded.scorer,
            popularity=popularity,
            artist_codes=artist_codes,
            stage_timer=metrics.recommendation_stage,
        ),
        centroid=centroid.astype(np.float32),
        song_ids=song_ids,
        artists=artists,
        titles=titles,
        popularity=popularity,
        artist_codes=artist_codes,
        popular_rows=by_popularity.astype(np.int64),
        row_by_song_id={song_id: row for row, song_id in enumerate(song_ids)},
        row_by_match_key=row_by_match_key,
        song_search_index=SongSearchIndex(song_ids, artists, titles, popularity),
        manifest=loaded.manifest,
    )


class ModelStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: ServingModel | None = None
        self._pointer: str | None = None  # resolved target of `current` we last tried
        self._error: str | None = "No model has been loaded yet."
        self._checked_at = 0.0

    @staticmethod
    def _root() -> Path:
        return Path(settings.ARTIFACTS_DIR)

    def _current_target(self) -> str | None:
        """The absolute directory ``current`` points at (resolved against the artifacts root, not
        the working directory: the link's target is relative), or None when nothing is published."""
        link = self._root() / "current"
        try:
            os.readlink(link)
        except OSError:
            return None
        return os.path.realpath(link)

    def load(self) -> ServingModel | None:
        """(Re)load the published model; on failure keep serving the previous one, if any."""
        from ml.artifacts import load_published  # deferred: faiss is heavy and not every process needs it
        from ml.errors import ArtifactError

        with self._lock:
            target = self._current_target()
            self._pointer = target
            self._checked_at = time.monotonic()
            if target is None:
                self._error = f"No model is published under {self._root()} (run the README's run command)."
                return self._model
            started = time.perf_counter()
            try:
                model = serving_model_from(load_published(self._root()))
            except ArtifactError as exc:
                self._error = f"Model at {target} refused: {exc}"
                logger.error("%s", self._error)
                metrics.model_loads.labels("refused").inc()
                return self._model
            except Exception as exc:
                # A request runs this on reload: whatever a bad version raises must leave the model
                # in force serving (and this version is not retried) rather than become a 500.
                self._error = f"Model at {target} refused: {type(exc).__name__}: {exc}"
                logger.exception("%s", self._error)
                metrics.model_loads.labels("refused").inc()
                return self._model
            self._model, self._error = model, None
            set_synthetic_catalog(bool(model.manifest.get(SYNTHETIC_DATA_KEY)))
            metrics.model_loads.labels("ok").inc()
            metrics.model_served(model.version, time.perf_counter() - started)
            # Keep the loaded objects out of the cyclic GC's reach so forked workers do not
            # dirty (and so copy) the shared pages merely by collecting.
            gc.freeze()
            logger.info(
                "Loaded model %s: %d songs, %d dims in %.2fs",
                model.version,
                model.size,
                model.vectors.shape[1],
                time.perf_counter() - started,
            )
            return model

    def _maybe_reload(self) -> None:
        if time.monotonic() - self._checked_at < RELOAD_CHECK_S:
            return
        target = self._current_target()
        if target != self._pointer:
            self.load()
        else:
            self._checked_at = time.monotonic()

    def get(self) -> ServingModel:
        """The model in force, or ModelNotReadyError (503) while there is none."""
        self._maybe_reload()
        model = self._model
        if model is None:
            raise ModelNotReadyError(f"The recommendation model is not ready. {self._error or ''}".strip())
        return model

    def peek(self) -> ServingModel | None:
        """The model in force without raising (health checks)."""
        self._maybe_reload()
        return self._model

    def get_error(self) -> str | None:
        return self._error

    def reset(self) -> None:
        """Forget the loaded model (tests)."""
        with self._lock:
            self._model, self._pointer, self._checked_at = None, None, 0.0
            set_synthetic_catalog(False)
            self._error = "No model has been loaded yet."


model_store = ModelStore()
