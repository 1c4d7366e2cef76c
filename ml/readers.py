"""Readers for listening data: Last.fm scrobbles, the playlist dataset, plain triplets.

Every reader streams its file in chunks (``CHUNK_ROWS`` rows at a time) and aggregates plays per
(user, song) as it goes, so memory grows with the number of *distinct* pairs, not with the number
of rows: a 20M-row scrobble file trains in bounded memory.

Songs are identified by :func:`ml.text.song_key` (normalised "artist - track"), so variants like
"Song - Remastered 2014" and "Song" merge into one item. Each item's display ``song_id``
("Artist - Track") is the raw spelling seen in the most rows (first seen on a tie).

Bad input never surfaces as a traceback: a missing file, an empty file, missing columns or a file
that is not UTF-8 raise :class:`ml.errors.DataError` with a sentence naming the file and the
problem. Rows with an empty artist or track (or unusable plays) are skipped and counted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .errors import DataError
from .text import normalise_song_key, song_display_id, song_key

__all__ = [
    "CHUNK_ROWS",
    "FORMATS",
    "Interactions",
    "detect_format",
    "file_sha256",
    "read_interactions",
    "read_lastfm",
    "read_playlists",
    "read_triplets",
]

logger = logging.getLogger(__name__)

FORMATS = ("lastfm", "playlists", "triplets")
CHUNK_ROWS = 1_000_000
#: Display names are capped so a song_id ("Artist - Track") fits the catalog's 512-char column.
MAX_NAME_CHARS = 250
_HASH_BLOCK_BYTES = 4 << 20
_csv_field_limit_raised = False


@dataclass
class Interactions:
    """Plays aggregated per (user, item), plus the item metadata.

    ``users``/``items``/``plays`` are parallel arrays, one entry per distinct pair, sorted by
    (user, item). ``user_ids[u]`` is the raw user name of row code ``u``; ``song_ids[i]``,
    ``artists[i]``, ``titles[i]`` describe item code ``i``.
    """

    users: np.ndarray  # int32 [n_pairs]
    items: np.ndarray  # int32 [n_pairs]
    plays: np.ndarray  # float32 [n_pairs], summed plays (>= 0)
    user_ids: list[str]
    song_ids: list[str]
    artists: list[str]
    titles: list[str]
    source: dict = field(default_factory=dict)  # path, format, sha256, rows, skipped{reason: n}

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.song_ids)

    @property
    def n_pairs(self) -> int:
        return int(self.users.shape[0])


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file (for a directory: of its sorted CSV files' names and contents)."""
    digest = hashlib.sha256()
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.name.encode() + b"\0")
        with open(file, "rb") as handle:
            while block := handle.read(_HASH_BLOCK_BYTES):
                digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Aggregation shared by all readers


class _Aggregator:
    """Maps raw users/songs to codes and sums plays per (user, item), chunk by chunk."""

    def __init__(self) -> None:
        self.user_code: dict[str, int] = {}
        self.item_code: dict[str, int] = {}  # normalised song key -> item code
        self.raw_item: dict[tuple[str, str], int] = {}  # (artist, title) as written -> item code
        self.variant_rows: dict[tuple[str, str], int] = {}  # rows per raw spelling, for display
        self._users: list[int] = []
        self._items: list[int] = []
        self._plays: list[float] = []
        self._pair_keys = np.empty(0, dtype=np.int64)
        self._pair_plays = np.empty(0, dtype=np.float64)

    def item(self, artist: str, title: str) -> int:
        raw = (artist, title)
        code = self.raw_item.get(raw)
        if code is None:
            key = song_key(artist, title)
            code = self.item_code.setdefault(key, len(self.item_code))
            self.raw_item[raw] = code
            self.variant_rows[raw] = 0
        self.variant_rows[raw] += 1
        return code

    def item_by_id(self, song_id: str) -> int:
        """Item code for a triplet's free-form item id ("Artist - Track" or any string)."""
        raw = (song_id, "")
        code = self.raw_item.get(raw)
        if code is None:
            code = self.item_code.setdefault(normalise_song_key(song_id), len(self.item_code))
            self.raw_item[raw] = code
            self.variant_rows[raw] = 0
        self.variant_rows[raw] += 1
        return code

    def user(self, name: str) -> int:
        return self.user_code.setdefault(name, len(self.user_code))

    def add(self, user: int, item: int, plays: float = 1.0) -> None:
        self._users.append(user)
        self._items.append(item)
        self._plays.append(plays)
        if len(self._users) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self._users:
            return
        keys = (np.asarray(self._users, dtype=np.int64) << 32) | np.asarray(self._items, dtype=np.int64)
        plays = np.asarray(self._plays, dtype=np.float64)
        self._users.clear()
        self._items.clear()
        self._plays.clear()
        keys = np.concatenate([self._pair_keys, keys])
        plays = np.concatenate([self._pair_plays, plays])
        unique, inverse = np.unique(keys, return_inverse=True)
        self._pair_keys = unique
        self._pair_plays = np.bincount(inverse, weights=plays, minlength=unique.shape[0])

    def result(self, source: dict) -> Interactions:
        self.flush()
        n_items = len(self.item_code)
        song_ids = [""] * n_items
        artists = [""] * n_items
        titles = [""] * n_items
        best_rows = [-1] * n_items
        # raw_item preserves first-seen order, so ">" keeps the first spelling on a tie.
        for raw, code in self.raw_item.items():
            rows = self.variant_rows[raw]
            if rows > best_rows[code]:
                best_rows[code] = rows
                artist, title = raw
                if title == "":  # a triplet item id: "Artist - Track", or any string
                    artist, sep, title = artist.partition(" - ")
                    if not sep:
                        artist, title = "", artist
                song_ids[code] = song_display_id(artist, title) if artist else " ".join(title.split())
                artists[code], titles[code] = artist, title
        user_ids = list(self.user_code)
        keys = self._pair_keys
        return Interactions(
            users=(keys >> 32).astype(np.int32),
            items=(keys & 0xFFFFFFFF).astype(np.int32),
            plays=self._pair_plays.astype(np.float32),
            user_ids=user_ids,
            song_ids=song_ids,
            artists=[" ".join(a.split()) for a in artists],
            titles=[" ".join(t.split()) for t in titles],
            source=source,
        )


# --------------------------------------------------------------------------------------------
# CSV plumbing


def _raise_csv_field_limit() -> None:
    global _csv_field_limit_raised
    if not _csv_field_limit_raised:
        csv.field_size_limit(1 << 24)
        _csv_field_limit_raised = True


class _ByteProgress:
    """A tqdm bar over the bytes of a binary file handle, updated once per chunk of rows."""

    def __init__(self, raw: io.BufferedReader, total: int, label: str, enabled: bool) -> None:
        self._raw = raw
        self._bar = tqdm(
            total=total, unit="B", unit_scale=True, desc=label, disable=not enabled, leave=False, mininterval=0.5
        )

    def update(self) -> None:
        position = self._raw.tell()
        self._bar.update(position - self._bar.n)

    def close(self) -> None:
        self._bar.close()


def _open_csv(path: Path, *, what: str) -> tuple[io.BufferedReader, io.TextIOWrapper]:
    if not path.exists():
        raise DataError(f"{what} {path} does not exist.")
    if path.is_dir():
        raise DataError(f"{what} {path} is a directory, expected a CSV file.")
    if path.stat().st_size == 0:
        raise DataError(f"{what} {path} is empty.")
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    # utf-8-sig: a leading byte-order mark (Excel exports) is not part of the first column name.
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    return raw, text


def _rows(path: Path, text: io.TextIOWrapper, *, delimiter: str = ",") -> Iterator[list[str]]:
    """csv rows; decoding and CSV syntax errors become DataError naming the file and line."""
    _raise_csv_field_limit()
    reader = csv.reader(text, delimiter=delimiter)
    try:
        yield from reader
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is not valid UTF-8 (bad byte near line {reader.line_num + 1}); re-save it as UTF-8."
        ) from exc
    except csv.Error as exc:
        raise DataError(f"{path} line {reader.line_num}: malformed CSV ({exc}).") from exc


def _header_index(path: Path, header: list[str], required: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Column positions by (case-insensitive) name; DataError listing what is missing."""
    names = [h.strip().casefold() for h in header]
    found: dict[str, int] = {}
    missing = []
    for column, aliases in required.items():
        position = next((names.index(a) for a in aliases if a in names), None)
        if position is None:
            missing.append(column)
        else:
            found[column] = position
    if missing:
        raise DataError(
            f"{path} is missing required column(s) {', '.join(missing)}; "
            f"its header is {', '.join(h.strip() for h in header) or '(empty)'}."
        )
    return found


def _first_row(path: Path, rows: Iterator[list[str]]) -> list[str]:
    try:
        return next(rows)
    except StopIteration:
        raise DataError(f"{path} is empty.") from None


def _clean(value: str) -> str:
    return value.strip()[:MAX_NAME_CHARS].strip()


def _count(skipped: dict[str, int], reason: str) -> None:
    skipped[reason] = skipped.get(reason, 0) + 1


def _finish(path: Path, fmt: str, agg: _Aggregator, rows: int, skipped: dict[str, int], sha: str) -> Interactions:
    result = agg.result({"path": str(path), "format": fmt, "sha256": sha, "rows": rows, "skipped": skipped})
    if result.n_pairs == 0:
        detail = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in sorted(skipped.items()))
        raise DataError(f"{path} has no usable rows ({rows} data rows read{'; skipped: ' + detail if detail else ''}).")
    logger.info(
        "Read %s (%s): %d rows, %d users, %d songs, %d pairs, skipped %s",
        path,
        fmt,
        rows,
        result.n_users,
        result.n_items,
        result.n_pairs,
        skipped or "none",
    )
    return result


# --------------------------------------------------------------------------------------------
# Readers


def read_lastfm(path: Path, *, progress: bool = False) -> Interactions:
    """Last.fm scrobble CSV: a header with ``Username, Artist, Track`` (any order, any case,
    extra columns ignored); each row is one play."""
    path = Path(path)
    raw, text = _open_csv(path, what="Scrobble file")
    with raw, text:
        rows = _rows(path, text)
        header = _first_row(path, rows)
        col = _header_index(
            path, header, {"Username": ("username", "user"), "Artist": ("artist",), "Track": ("track",)}
        )
        u_col, a_col, t_col = col["Username"], col["Artist"], col["Track"]
        width = max(u_col, a_col, t_col) + 1
        agg = _Aggregator()
        skipped: dict[str, int] = {}
        n = 0
        bar = _ByteProgress(raw, path.stat().st_size, f"read {path.name}", progress)
        for row in rows:
            n += 1
            if len(row) < width:
                if not any(row):
                    n -= 1  # a blank line is not a data row
                    continue
                _count(skipped, "short_rows")
                continue
            user, artist, title = row[u_col].strip(), _clean(row[a_col]), _clean(row[t_col])
            if not user:
                _count(skipped, "empty_user")
            elif not artist or not title:
                _count(skipped, "empty_artist_or_track")
            else:
                agg.add(agg.user(user), agg.item(artist, title))
            if n % 65536 == 0:
                bar.update()
        bar.close()
    return _finish(path, "lastfm", agg, n, skipped, file_sha256(path))


def read_triplets(path: Path, *, progress: bool = False) -> Interactions:
    """Plain ``user,item,plays`` rows (comma or tab separated, header optional). The item is a
    free-form id; "Artist - Track" ids get their artist and title split on the first " - ".

    A header must name its columns (:data:`TRIPLET_COLUMNS`, any order): a file with some other
    header (``name,city,age``) is refused rather than read as nonsense triplets, and so is a file
    whose plays column mostly holds something other than positive numbers."""
    path = Path(path)
    raw, text = _open_csv(path, what="Triplet file")
    with raw, text:
        try:
            first_line = text.readline()
        except UnicodeDecodeError as exc:
            raise DataError(f"{path} is not valid UTF-8 (bad byte on line 1); re-save it as UTF-8.") from exc
        delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
        text.seek(0)
        rows = _rows(path, text, delimiter=delimiter)
        first = _first_row(path, rows)
        if len(first) < 3:
            raise DataError(
                f"{path} needs 3 columns (user, item, plays); "
                f"its first row has {len(first)}: {first_line.strip()[:80]!r}."
            )
        agg = _Aggregator()
        skipped: dict[str, int] = {}
        n = 0

        u_col, i_col, p_col, width = 0, 1, 2, 3  # without a header; a header may name another order

        def handle(row: list[str]) -> None:
            if len(row) < width:
                _count(skipped, "short_rows")
                return
            user, item = row[u_col].strip(), _clean(row[i_col])
            try:
                plays = float(row[p_col])
            except ValueError:
                _count(skipped, "bad_plays")
                return
            if not user:
                _count(skipped, "empty_user")
            elif not item:
                _count(skipped, "empty_item")
            elif not math.isfinite(plays) or plays <= 0:
                _count(skipped, "bad_plays")
            else:
                agg.add(agg.user(user), agg.item_by_id(item), plays)

        try:
            float(first[2])
            has_header = False
        except ValueError:
            has_header = True
        if has_header:
            columns = _triplet_header_index(path, first)
            u_col, i_col, p_col = columns["user"], columns["item"], columns["plays"]
            width = max(u_col, i_col, p_col) + 1
        else:
            n += 1
            handle(first)
        bar = _ByteProgress(raw, path.stat().st_size, f"read {path.name}", progress)
        for row in rows:
            if not any(row):
                continue
            n += 1
            handle(row)
            if n % 65536 == 0:
                bar.update()
        bar.close()
    _check_plays_column(path, n, skipped)
    return _finish(path, "triplets", agg, n, skipped, file_sha256(path))


#: Header names a triplet file may use for each column (case-insensitive).
TRIPLET_COLUMNS: dict[str, tuple[str, ...]] = {
    "user": ("user", "username", "user_id", "userid"),
    "item": ("item", "item_id", "song", "song_id", "track", "track_id"),
    "plays": ("plays", "play_count", "playcount", "count", "listens"),
}
#: The data formats in a sentence, for errors about a file that is none of them.
EXPECTED_FORMATS = (
    "expected a Last.fm scrobble CSV (header Username,Artist,Track), triplets (header user,item,plays, "
    "or no header) or the playlist folder (tracks.csv + playlist_tracks.csv)"
)


def _triplet_header_index(path: Path, header: list[str]) -> dict[str, int]:
    names = [h.strip().casefold() for h in header]
    found = {
        column: next((names.index(alias) for alias in aliases if alias in names), None)
        for column, aliases in TRIPLET_COLUMNS.items()
    }
    if None in found.values():
        shown = ",".join(h.strip() for h in header)[:120]
        raise DataError(f"{path} has the header {shown!r}, which is not a known format: {EXPECTED_FORMATS}.")
    return found  # type: ignore[return-value]


def _check_plays_column(path: Path, rows: int, skipped: dict[str, int]) -> None:
    """Refuse a file whose third column is not play counts (most rows not a positive number)."""
    bad = skipped.get("bad_plays", 0)
    if rows and bad * 2 > rows:
        raise DataError(
            f"{path}: the plays column does not hold play counts ({bad} of {rows} rows are not positive "
            f"numbers); {EXPECTED_FORMATS}."
        )


def _playlist_files(path: Path) -> tuple[Path, Path]:
    if not path.exists():
        raise DataError(f"Playlist dataset {path} does not exist.")
    folder = path if path.is_dir() else path.parent
    tracks, links = folder / "tracks.csv", folder / "playlist_tracks.csv"
    for file in (tracks, links):
        if not file.is_file():
            raise DataError(
                f"Playlist dataset {folder} has no {file.name} (expected tracks.csv and playlist_tracks.csv)."
            )
    return tracks, links


def read_playlists(path: Path, *, progress: bool = False) -> Interactions:
    """The playlist dataset layout (a folder with ``tracks.csv`` = ``track_id,track_uri,
    artist_name,track_name`` and ``playlist_tracks.csv`` = ``pid,pos,track_id``). Each playlist
    is a user; a track listed twice in a playlist counts as two plays."""
    path = Path(path)
    tracks_path, links_path = _playlist_files(path)
    agg = _Aggregator()
    skipped: dict[str, int] = {}
    track_item: dict[str, int] = {}
    track_raw: dict[str, tuple[str, str]] = {}
    raw, text = _open_csv(tracks_path, what="Track file")
    with raw, text:
        rows = _rows(tracks_path, text)
        col = _header_index(
            tracks_path,
            _first_row(tracks_path, rows),
            {"track_id": ("track_id",), "artist_name": ("artist_name",), "track_name": ("track_name",)},
        )
        i_col, a_col, t_col = col["track_id"], col["artist_name"], col["track_name"]
        width = max(i_col, a_col, t_col) + 1
        for row in rows:
            if len(row) < width:
                if any(row):
                    _count(skipped, "short_track_rows")
                continue
            artist, title = _clean(row[a_col]), _clean(row[t_col])
            if not artist or not title:
                _count(skipped, "empty_artist_or_track")
                continue
            # Register the spelling without counting it: display spellings are voted by plays.
            key_raw = (artist, title)
            if key_raw not in agg.raw_item:
                agg.raw_item[key_raw] = agg.item_code.setdefault(song_key(artist, title), len(agg.item_code))
                agg.variant_rows[key_raw] = 0
            track_id = row[i_col].strip()
            track_item[track_id] = agg.raw_item[key_raw]
            track_raw[track_id] = key_raw
    raw, text = _open_csv(links_path, what="Playlist file")
    n = 0
    with raw, text:
        rows = _rows(links_path, text)
        col = _header_index(links_path, _first_row(links_path, rows), {"pid": ("pid",), "track_id": ("track_id",)})
        p_col, t_col = col["pid"], col["track_id"]
        width = max(p_col, t_col) + 1
        bar = _ByteProgress(raw, links_path.stat().st_size, f"read {links_path.name}", progress)
        for row in rows:
            if not any(row):
                continue
            n += 1
            if len(row) < width:
                _count(skipped, "short_rows")
                continue
            pid, track_id = row[p_col].strip(), row[t_col].strip()
            item = track_item.get(track_id)
            if not pid:
                _count(skipped, "empty_user")
            elif item is None:
                _count(skipped, "unknown_or_empty_track")
            else:
                agg.add(agg.user(pid), item)
                agg.variant_rows[track_raw[track_id]] += 1
            if n % 65536 == 0:
                bar.update()
        bar.close()
    return _finish(path, "playlists", agg, n, skipped, file_sha256(tracks_path.parent))


def detect_format(path: Path) -> str:
    """Guess the format: a folder (or a file inside one) with tracks.csv + playlist_tracks.csv is
    "playlists"; a CSV whose header has Username/Artist/Track is "lastfm"; else "triplets"."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"Data file {path} does not exist.")
    folder = path if path.is_dir() else path.parent
    if (folder / "playlist_tracks.csv").is_file() and (
        path.is_dir() or path.name in {"playlist_tracks.csv", "tracks.csv"}
    ):
        return "playlists"
    if path.is_dir():
        raise DataError(
            f"{path} is a directory but not the playlist dataset layout (tracks.csv + playlist_tracks.csv)."
        )
    with open(path, "rb") as handle:
        head = handle.read(4096)
    try:
        first_line = head.decode("utf-8-sig").splitlines()[0] if head else ""
    except UnicodeDecodeError:
        raise DataError(f"{path} is not valid UTF-8; re-save it as UTF-8.") from None
    names = {name.strip().casefold() for name in first_line.replace("\t", ",").split(",")}
    if {"artist", "track"} <= names and names & {"username", "user"}:
        return "lastfm"
    return "triplets"


READERS: dict[str, Callable[..., Interactions]] = {
    "lastfm": read_lastfm,
    "playlists": read_playlists,
    "triplets": read_triplets,
}


def read_interactions(path: Path, fmt: str | None = None, *, progress: bool = False) -> Interactions:
    """Read any supported format (``fmt`` None = :func:`detect_format`)."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in READERS:
        raise DataError(f"Unknown data format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    return READERS[fmt](path, progress=progress)
