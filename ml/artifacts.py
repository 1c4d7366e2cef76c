"""Versioned model artifacts: write safely, verify before use, publish atomically.

Layout under an artifacts root::

    ROOT/versions/<version>/manifest.json      format version, data hash, counts, params, metrics,
                                               and sha256 + size of every other file
                           item_factors.npy    float32 [n_items, dims] (raw SVD item factors)
                           items.json          [{"song_id", "artist", "title", "popularity"}], row order
                           item_bias.npy       float32 [n_items] (zeros for an unbiased model)
                           train_matrix.npz    the training users x items plays (CSR arrays), for
                                               `evaluate`'s baselines
                           eval_cases.npz      the held-out test users' seeds and songs (all-remaining)
                           next_song_cases.npz the same users, one held-out song each (next-song)
                           item_graph.npz      the item graph (ml.graph): CSR indptr/indices and
                                               float32 rp3/cosine/cooc values on one pattern
                           ranker.txt          LightGBM's text model file, when the scorer is the
                                               ranker (the blend's weights live in the manifest)
                           index.faiss         added by build_index
    ROOT/current -> versions/<version>         symlink, swapped with os.replace

No pickle anywhere: arrays are ``.npy``/``.npz`` read with ``allow_pickle=False``, metadata is
JSON. A version is written into a temporary sibling directory and renamed into place, so a
reader never sees half a version; build_index swaps files in with ``os.replace``.

Several hosts may share ROOT (NFS, EFS, CephFS: any POSIX file system with atomic rename). The
order of events is what keeps a host from loading half a version: every file is fsynced before
its directory is renamed into place, the version is verified in full (sizes and sha256) before
``current`` moves, and the directory holding ``current`` is fsynced after the swap. A host that
sees the new ``current`` therefore finds the files complete on the server.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ArtifactError
from .index import CODE_TOLERANCE
from .recommend import serving_vectors

__all__ = [
    "FORMAT_VERSION",
    "LoadedModel",
    "VersionSummary",
    "current_version",
    "file_digest",
    "latest_version",
    "list_versions",
    "load_published",
    "load_version",
    "new_version_name",
    "prune_versions",
    "read_manifest",
    "set_current",
    "summarize_versions",
    "update_version",
    "validate_items_shape",
    "validate_manifest_shape",
    "verify_version",
    "version_dir",
    "write_version",
]

logger = logging.getLogger(__name__)

#: 2: the two-stage recommender (item graph + scorer) joined the SVD; a version-1 model is refused.
FORMAT_VERSION = 2
MANIFEST_FILE = "manifest.json"
FACTORS_FILE = "item_factors.npy"
ITEMS_FILE = "items.json"
BIAS_FILE = "item_bias.npy"
TRAIN_FILE = "train_matrix.npz"
CASES_FILE = "eval_cases.npz"
NEXT_CASES_FILE = "next_song_cases.npz"
GRAPH_FILE = "item_graph.npz"
RANKER_FILE = "ranker.txt"
INDEX_FILE = "index.faiss"
VERSIONS_DIR = "versions"
CURRENT_LINK = "current"
_HASH_BLOCK_BYTES = 8 << 20
_STALE_TMP_S = 3600
# mkdtemp/mkstemp create owner-only entries; the server may run as another user and must read them.
_DIR_MODE = 0o755
_FILE_MODE = 0o644


@dataclass
class LoadedModel:
    """A verified published model, ready to serve."""

    version: str
    path: Path
    manifest: dict
    items: list[dict]
    song_ids: list[str]
    artists: list[str]
    titles: list[str]
    popularity: np.ndarray  # int64 [n]
    factors: np.ndarray  # float32 [n, d], raw SVD item factors
    vectors: np.ndarray  # float32 [n, d], C-contiguous: serving_vectors(factors), what the index holds
    index: Any  # faiss.Index
    graph: Any  # ml.graph.ItemGraph
    scorer: Any  # ml.ranker.Scorer (LightGBMScorer or BlendScorer)


# --------------------------------------------------------------------------------------------
# Small helpers


def file_digest(path: Path) -> dict:
    """{"sha256": hex, "bytes": size} of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK_BYTES):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def _fsync_path(path: Path) -> None:
    """Flush a file's or a directory's contents (a directory: its entries) to stable storage."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, value: Any, *, compact: bool = False) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        if compact:
            json.dump(value, handle, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        else:
            json.dump(value, handle, ensure_ascii=False, indent=1, sort_keys=True, allow_nan=False)
        handle.write("\n")


def _atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Write via ``writer(tmp_path)`` next to ``path`` then os.replace it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, _FILE_MODE)
        _fsync_path(Path(tmp))
        os.replace(tmp, path)
        _fsync_path(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def version_dir(root: Path, version: str) -> Path:
    return Path(root) / VERSIONS_DIR / version


def new_version_name(data_sha256: str, *, now: datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSSmmmZ-<8 hex of the data hash>``: sorts by creation time (to the
    millisecond, so two quick trainings on different data still sort in order), names the data."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{data_sha256[:8]}"


# --------------------------------------------------------------------------------------------
# Writing


def write_version(root: Path, version: str, writers: dict[str, Callable[[Path], None]], manifest: dict) -> Path:
    """Create ``versions/<version>`` atomically.

    ``writers`` maps a file name to a function writing that file; ``manifest`` is completed with
    ``format_version``, ``version``, ``created_at`` (if absent) and ``files`` (sha256 + bytes of
    each written file). A name collision gets a ``-2``, ``-3``... suffix. Returns the directory.
    """
    versions = Path(root) / VERSIONS_DIR
    versions.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(versions)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=versions))
    try:
        files = {}
        for name, writer in writers.items():
            writer(tmp / name)
            files[name] = file_digest(tmp / name)
        suffix = 1
        final_version = version
        while True:
            manifest = {
                **manifest,
                "format_version": FORMAT_VERSION,
                "version": final_version,
                "created_at": manifest.get("created_at") or datetime.now(UTC).isoformat(timespec="milliseconds"),
                "files": files,
            }
            _write_json(tmp / MANIFEST_FILE, manifest)
            for entry in tmp.iterdir():
                os.chmod(entry, _FILE_MODE)
                _fsync_path(entry)
            os.chmod(tmp, _DIR_MODE)
            _fsync_path(tmp)
            target = versions / final_version
            try:
                os.rename(tmp, target)  # atomic; fails if the target exists (non-empty dir)
                _fsync_path(versions)
                break
            except OSError:
                if not target.exists():
                    raise
                suffix += 1
                final_version = f"{version}-{suffix}"
        return target
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def update_version(path: Path, writers: dict[str, Callable[[Path], None]], manifest_updates: dict) -> dict:
    """Add or replace files in an existing version and merge ``manifest_updates`` into its
    manifest (each file, then the manifest, swapped in with os.replace). Returns the manifest."""
    path = Path(path)
    manifest = read_manifest(path)
    files = dict(manifest.get("files", {}))
    for name, writer in writers.items():
        _atomic_write(path / name, writer)
        files[name] = file_digest(path / name)
    manifest = {**manifest, **manifest_updates, "files": files}
    _atomic_write(path / MANIFEST_FILE, lambda tmp: _write_json(tmp, manifest))
    return manifest


def _remove_stale_tmp(versions: Path) -> None:
    """Clear temporary directories left by a crashed writer (older than an hour)."""
    for entry in versions.glob(".tmp-*"):
        try:
            if time.time() - entry.stat().st_mtime > _STALE_TMP_S:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


# --------------------------------------------------------------------------------------------
# Versions and the current pointer


def list_versions(root: Path) -> list[str]:
    """Complete versions (a manifest.json exists), oldest first."""
    versions = Path(root) / VERSIONS_DIR
    if not versions.is_dir():
        return []
    return sorted(
        entry.name
        for entry in versions.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and (entry / MANIFEST_FILE).is_file()
    )


def latest_version(root: Path) -> str | None:
    """The newest complete version, or None."""
    versions = list_versions(root)
    return versions[-1] if versions else None


def current_version(root: Path) -> str | None:
    """The version ``current`` points at, or None when nothing is published."""
    link = Path(root) / CURRENT_LINK
    try:
        target = os.readlink(link)
    except OSError:
        return None
    return Path(target).name


def set_current(root: Path, version: str) -> None:
    """Point ``current`` at ``versions/<version>`` atomically (a new symlink renamed over it).

    The version is verified in full first (every file present with its recorded size and sha256,
    flushed to storage), so no reader, on this host or another one sharing ROOT, can follow
    ``current`` to an incomplete or changed version."""
    root = Path(root)
    target = version_dir(root, version)
    if not (target / MANIFEST_FILE).is_file():
        raise ArtifactError(f"Cannot publish version {version}: {target / MANIFEST_FILE} does not exist.")
    manifest = verify_version(target)
    for name in [*manifest["files"], MANIFEST_FILE]:
        _fsync_path(target / name)
    _fsync_path(target)
    tmp = root / f".{CURRENT_LINK}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(Path(VERSIONS_DIR) / version, tmp)
    os.replace(tmp, root / CURRENT_LINK)
    _fsync_path(root)
    logger.info("current -> %s", version)


@dataclass(frozen=True)
class VersionSummary:
    """What an operator needs to pick a version to publish (``manage.py models``)."""

    version: str
    created_at: str
    is_current: bool
    data_rows: int | None  # rows of the training file
    songs: int | None  # catalog songs (items) in the model
    size_bytes: int  # the version's files on disk
    index_kind: str | None  # None: trained but not indexed, cannot be published yet
    metrics: dict  # the served lists' headline test metrics (:func:`headline_metrics`)
    problem: str | None = None  # why the manifest could not be read


def summarize_versions(root: Path) -> list[VersionSummary]:
    """One summary per complete version, oldest first. Reads manifests only (no hashing)."""
    current = current_version(root)
    summaries = []
    for version in list_versions(root):
        path = version_dir(root, version)
        try:
            manifest = read_manifest(path)
        except ArtifactError as exc:
            summaries.append(VersionSummary(version, "", version == current, None, None, 0, None, {}, str(exc)))
            continue
        files = manifest.get("files") or {}
        summaries.append(
            VersionSummary(
                version=version,
                created_at=str(manifest.get("created_at", "")),
                is_current=version == current,
                data_rows=(manifest.get("data") or {}).get("rows"),
                songs=(manifest.get("counts") or {}).get("items"),
                size_bytes=sum(int(entry.get("bytes", 0)) for entry in files.values()),
                index_kind=(manifest.get("index") or {}).get("kind"),
                metrics=headline_metrics((manifest.get("metrics") or {}).get("test")),
            )
        )
    return summaries


def headline_metrics(test_metrics) -> dict:
    """The served lists' test figures from a manifest's ``metrics.test`` (an evaluation report:
    ``results[protocol][method]``, ``product``): next-song HitRate@10 and all-remaining HitRate@10
    and NDCG@10. Empty when the manifest holds no such report."""
    if not isinstance(test_metrics, dict) or not isinstance(test_metrics.get("results"), dict):
        return {}
    served = f"{test_metrics.get('product')} served"
    results = test_metrics["results"]
    next_song = (results.get("next_song") or {}).get(served) or {}
    all_remaining = (results.get("all_remaining") or {}).get(served) or {}
    figures = {
        "next_song_hit_rate@10": next_song.get("hit_rate@10"),
        "hit_rate@10": all_remaining.get("hit_rate@10"),
        "ndcg@10": all_remaining.get("ndcg@10"),
    }
    return {name: value for name, value in figures.items() if isinstance(value, int | float)}


def prune_versions(root: Path, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` versions (the current one is always kept). Returns the
    removed version names."""
    keep = max(int(keep), 1)
    versions = list_versions(root)
    current = current_version(root)
    doomed = [v for v in versions[:-keep] if v != current]
    for version in doomed:
        shutil.rmtree(version_dir(root, version), ignore_errors=True)
    if doomed:
        logger.info("Pruned versions %s", ", ".join(doomed))
    return doomed


# --------------------------------------------------------------------------------------------
# Reading and verification


def read_manifest(path: Path) -> dict:
    """Parse a version's manifest.json (ArtifactError if missing, unreadable or wrong format)."""
    file = Path(path) / MANIFEST_FILE
    try:
        with open(file, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except FileNotFoundError:
        raise ArtifactError(f"{file} does not exist.") from None
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{file} is not readable JSON ({exc}).") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{file} is not a JSON object.")
    found = manifest.get("format_version")
    if found != FORMAT_VERSION:
        raise ArtifactError(
            f"{file} has format_version {found!r}; this code reads format {FORMAT_VERSION}. Retrain the model."
        )
    validate_manifest_shape(manifest, file)
    return manifest


# --------------------------------------------------------------------------------------------
# Shape validation: a manifest or items.json that is valid JSON of the wrong shape ("counts":
# null, a string where a number belongs) is refused like a tampered file, with a sentence naming
# the key, before any code indexes into it. To check a new manifest key, add a line to
# MANIFEST_SHAPE (or to the nested shape it belongs to).


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_positive(value: Any) -> bool:
    return _is_count(value) and value > 0


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_index_codes(value: Any) -> bool:
    return isinstance(value, str) and value in CODE_TOLERANCE


@dataclass(frozen=True)
class EachValue:
    """Shape of an object whose keys are free (file names) and whose every value has ``shape``."""

    shape: dict


# key -> (required, check, what it must be). ``check`` is a predicate, a nested {shape} (an
# object with those keys) or EachValue({shape}).
_FILE_ENTRY_SHAPE = {
    "sha256": (True, _is_sha256, "64 lower-case hex digits"),
    "bytes": (True, _is_count, "a non-negative integer"),
}
MANIFEST_SHAPE: dict[str, tuple[bool, Any, str]] = {
    "version": (True, _is_str, "a string"),
    "dims": (True, _is_positive, "a positive integer"),
    "counts": (True, {"items": (True, _is_count, "a non-negative integer")}, "an object"),
    "files": (True, EachValue(_FILE_ENTRY_SHAPE), "an object of {name: {sha256, bytes}}"),
    "index": (
        False,
        {
            "kind": (True, _is_str, "a string"),
            "dims": (True, _is_positive, "a positive integer"),
            "ntotal": (True, _is_count, "a non-negative integer"),
            "codes": (False, _is_index_codes, "one of " + ", ".join(map(repr, CODE_TOLERANCE))),
        },
        "an object",
    ),
    "scorer": (False, {"kind": (True, _is_str, "a string")}, "an object"),
}
ITEM_SHAPE = {
    "song_id": (True, _is_str, "a string"),
    "artist": (True, _is_str, "a string"),
    "title": (True, _is_str, "a string"),
    "popularity": (False, _is_count, "a non-negative integer"),
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_shape(value: Any, shape: dict, where: str, prefix: str = "") -> None:
    if not isinstance(value, dict):
        raise ArtifactError(f"{where}: {prefix or 'the document'} must be an object.")
    for key, (required, check, expected) in shape.items():
        name = f"{prefix}.{key}" if prefix else key
        if key not in value:
            if required:
                raise ArtifactError(f"{where} lacks {name!r} ({expected}).")
            continue
        found = value[key]
        if isinstance(check, EachValue):
            if not isinstance(found, dict):
                raise ArtifactError(f"{where}: {name!r} must be {expected}, found {type(found).__name__}.")
            for entry_name, entry in found.items():
                _check_shape(entry, check.shape, where, f"{name}.{entry_name}")
        elif isinstance(check, dict):
            if not isinstance(found, dict):
                raise ArtifactError(f"{where}: {name!r} must be {expected}, found {_short(found)}.")
            _check_shape(found, check, where, name)
        elif not check(found):
            raise ArtifactError(f"{where}: {name!r} must be {expected}, found {_short(found)}.")


def validate_manifest_shape(manifest: dict, file: Path) -> None:
    """ArtifactError unless every key serving reads has the type and range it must have."""
    _check_shape(manifest, MANIFEST_SHAPE, str(file))


def validate_items_shape(items: Any, file: Path) -> None:
    """ArtifactError unless items.json is a list of {song_id, artist, title[, popularity]}."""
    if not isinstance(items, list):
        raise ArtifactError(f"{file} must be a list of song objects.")
    # Fast path for the usual well-formed file (a catalog has ~10^5 songs); the detailed check
    # below only runs to name the first bad item.
    if all(
        type(item) is dict
        and type(item.get("song_id")) is str
        and type(item.get("artist")) is str
        and type(item.get("title")) is str
        and type(item.get("popularity", 0)) is int
        and item.get("popularity", 0) >= 0
        for item in items
    ):
        return
    for row, item in enumerate(items):
        _check_shape(item, ITEM_SHAPE, str(file), f"[{row}]")


def verify_version(path: Path, manifest: dict | None = None) -> dict:
    """Check every file listed in the manifest exists with the recorded size and sha256."""
    path = Path(path)
    manifest = manifest if manifest is not None else read_manifest(path)
    files = manifest.get("files")
    required = (FACTORS_FILE, ITEMS_FILE, GRAPH_FILE)
    if not isinstance(files, dict) or any(name not in files for name in required):
        raise ArtifactError(f"{path / MANIFEST_FILE} does not list {', '.join(required)} under 'files'.")
    for name, expected in files.items():
        file = path / name
        if Path(name).name != name:
            raise ArtifactError(f"{path / MANIFEST_FILE} lists a file outside the version directory: {name!r}.")
        if not file.is_file():
            raise ArtifactError(f"{file} is listed in the manifest but does not exist.")
        size = file.stat().st_size
        if size != expected.get("bytes"):
            raise ArtifactError(
                f"{file} is {size} bytes but the manifest says {expected.get('bytes')}; it was changed."
            )
        if file_digest(file)["sha256"] != expected.get("sha256"):
            raise ArtifactError(f"{file} does not match its sha256 in the manifest; it was changed or corrupted.")
    return manifest


def _load_npy(file: Path) -> np.ndarray:
    try:
        return np.load(file, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{file} is not a readable .npy array ({exc}).") from None


def load_items(path: Path) -> list[dict]:
    file = Path(path) / ITEMS_FILE
    try:
        with open(file, encoding="utf-8") as handle:
            items = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{file} is not readable JSON ({exc}).") from None
    validate_items_shape(items, file)
    return items


def load_version(path: Path, *, require_index: bool = True) -> LoadedModel:
    """Load and verify one version directory (see :func:`load_published`)."""
    path = Path(path)
    manifest = verify_version(path)
    factors = _load_npy(path / FACTORS_FILE)
    items = load_items(path)
    if factors.dtype != np.float32 or factors.ndim != 2:
        raise ArtifactError(
            f"{path / FACTORS_FILE} must be a 2-D float32 array, found {factors.dtype} {factors.shape}."
        )
    n, dims = factors.shape
    if manifest.get("dims") != dims:
        raise ArtifactError(f"{path / FACTORS_FILE} has {dims} dims but the manifest says {manifest.get('dims')}.")
    if len(items) != n:
        raise ArtifactError(f"{path / ITEMS_FILE} lists {len(items)} songs but {path / FACTORS_FILE} has {n} rows.")
    counted = manifest.get("counts", {}).get("items")
    if counted != n:
        raise ArtifactError(f"{path / MANIFEST_FILE} counts {counted} items but {path / FACTORS_FILE} has {n} rows.")
    if not np.isfinite(factors).all():
        raise ArtifactError(f"{path / FACTORS_FILE} contains non-finite values.")
    vectors = serving_vectors(factors)
    graph = _load_graph(path, n)
    scorer = _load_scorer(path, manifest)
    index = None
    index_info = manifest.get("index")
    if require_index or index_info:
        if not index_info:
            raise ArtifactError(f"Version {path.name} has no index yet; run `manage.py build_index`.")
        index = _load_index(path, manifest, vectors)
    return LoadedModel(
        version=manifest.get("version", path.name),
        path=path,
        manifest=manifest,
        items=items,
        song_ids=[str(item["song_id"]) for item in items],
        artists=[str(item.get("artist", "")) for item in items],
        titles=[str(item.get("title", "")) for item in items],
        popularity=np.asarray([int(item.get("popularity", 0)) for item in items], dtype=np.int64),
        factors=factors,
        vectors=vectors,
        index=index,
        graph=graph,
        scorer=scorer,
    )


def _load_graph(path: Path, n_items: int):
    from .graph import ItemGraph

    file = path / GRAPH_FILE
    try:
        with np.load(file, allow_pickle=False) as stored:
            return ItemGraph.from_arrays({key: stored[key] for key in stored.files}, n_items=n_items)
    except (OSError, ValueError, KeyError) as exc:
        raise ArtifactError(f"{file} is not a valid item graph for {n_items} songs ({exc}).") from None


def _load_scorer(path: Path, manifest: dict):
    """The scorer the manifest names: the LightGBM text model file, or the blend's weights."""
    from .candidates import FEATURES
    from .ranker import BlendScorer, LightGBMScorer

    info = manifest.get("scorer")
    if not isinstance(info, dict):
        raise ArtifactError(f"{path / MANIFEST_FILE} does not describe the scorer ('scorer').")
    if info.get("kind") == "lightgbm":
        if RANKER_FILE not in manifest.get("files", {}):
            raise ArtifactError(f"{path / MANIFEST_FILE} names a LightGBM scorer but does not list {RANKER_FILE}.")
        try:
            return LightGBMScorer.from_text((path / RANKER_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ArtifactError(f"{path / RANKER_FILE} is not a usable LightGBM model ({exc}).") from None
    if info.get("kind") == "blend":
        weights = info.get("weights")
        if not isinstance(weights, dict) or not all(
            name in FEATURES and isinstance(value, int | float) for name, value in weights.items()
        ):
            raise ArtifactError(f"{path / MANIFEST_FILE} has malformed blend weights: {weights!r}.")
        return BlendScorer({name: float(value) for name, value in weights.items()})
    raise ArtifactError(f"{path / MANIFEST_FILE} names an unknown scorer kind {info.get('kind')!r}.")


def _load_index(path: Path, manifest: dict, vectors: np.ndarray):
    from .index import read_index

    info = manifest["index"]
    file = path / INDEX_FILE
    if INDEX_FILE not in manifest.get("files", {}):
        raise ArtifactError(f"{path / MANIFEST_FILE} describes an index but does not list {INDEX_FILE} under 'files'.")
    try:
        index = read_index(file, info)
    except RuntimeError as exc:
        raise ArtifactError(f"{file} is not a readable FAISS index ({str(exc).splitlines()[0]}).") from None
    n, dims = vectors.shape
    if index.d != dims or info.get("dims") != dims:
        raise ArtifactError(f"{file} has {index.d} dims but {path / FACTORS_FILE} has {dims}.")
    if index.ntotal != n or info.get("ntotal") != n:
        raise ArtifactError(f"{file} holds {index.ntotal} vectors but {path / FACTORS_FILE} has {n} rows.")
    if n:
        # The index must hold *these* vectors: spot-check the first and last rows.
        tolerance = CODE_TOLERANCE[info.get("codes", "float32")]  # a known value: checked with the manifest's shape
        for row in {0, n - 1}:
            stored = index.reconstruct(row)
            if not np.allclose(stored, vectors[row], rtol=0.0, atol=tolerance):
                raise ArtifactError(f"{file} does not hold the serving vectors of {FACTORS_FILE} (row {row} differs).")
    return index


def load_published(root: Path) -> LoadedModel:
    """Load the version ``ROOT/current`` points at, verified.

    Checks: manifest format version; every file's size and sha256; item_factors (float32, 2-D,
    finite), items.json and the index agree on the number of songs and dims; the index holds the
    serving vectors. Raises ArtifactError with a sentence naming the file and the problem.
    """
    root = Path(root)
    link = root / CURRENT_LINK
    if not link.is_symlink() and not link.exists():
        raise ArtifactError(
            f"No model is published: {link} does not exist (run `manage.py train` then `manage.py build_index`)."
        )
    target = link.resolve()
    if not target.is_dir():
        raise ArtifactError(f"{link} points at {target}, which does not exist.")
    return load_version(target, require_index=True)


def load_evaluation_data(path: Path) -> tuple[Any, dict, np.ndarray]:
    """(train CSR matrix, {protocol: EvalCases of the test users}, item bias) stored by ``train``."""
    import scipy.sparse as sp

    from .split import EvalCases

    path = Path(path)
    arrays = {}
    for name in (TRAIN_FILE, CASES_FILE, NEXT_CASES_FILE):
        try:
            with np.load(path / name, allow_pickle=False) as data:
                arrays[name] = {key: data[key] for key in data.files}
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(f"{path / name} is not readable ({exc}).") from None
    t = arrays[TRAIN_FILE]
    try:
        matrix = sp.csr_matrix((t["data"], t["indices"], t["indptr"]), shape=tuple(int(x) for x in t["shape"]))
        cases = {
            "next_song": EvalCases.from_arrays(arrays[NEXT_CASES_FILE]),
            "all_remaining": EvalCases.from_arrays(arrays[CASES_FILE]),
        }
    except (KeyError, ValueError) as exc:
        raise ArtifactError(f"{path} has malformed evaluation arrays ({exc}).") from None
    bias = _load_npy(path / BIAS_FILE) if (path / BIAS_FILE).is_file() else np.zeros(matrix.shape[1], np.float32)
    return matrix, cases, bias
