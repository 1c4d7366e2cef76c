"""The three cover providers, in chain order: iTunes Search, Deezer, MusicBrainz + Cover Art Archive.

Each ``find`` returns a cover URL, None when the provider answered but has no matching song, or
raises ProviderError/ProviderTimeout/ProviderSkipped. Search results are only trusted when the
artist and the title match ours after normalisation (``ml.text.normalise``): search engines
always return *something*, and a confident wrong cover is worse than none.

Response shapes used (documented public JSON, trimmed to the fields read):
- iTunes Search API, ``GET /search?term=&media=music&entity=song&limit=``:
  ``{"resultCount": n, "results": [{"artistName", "trackName", "artworkUrl100", ...}]}``;
  ``artworkUrl100`` ends in ``/100x100bb.jpg`` and the CDN serves other sizes by rewriting it.
- Deezer, ``GET /search?q=artist:"…" track:"…"&limit=``:
  ``{"data": [{"title", "artist": {"name"}, "album": {"cover_medium", "cover_big", "cover_xl"}}], "total": n}``;
  errors (e.g. quota) arrive as HTTP 200 ``{"error": {"type", "message", "code"}}``.
- MusicBrainz, ``GET /ws/2/recording?query=<lucene>&fmt=json&limit=``:
  ``{"recordings": [{"score", "title", "artist-credit": [{"name"}], "releases": [{"id", "status"}]}]}``.
- Cover Art Archive, ``GET /release/{mbid}``: 307 to the JSON listing
  ``{"images": [{"front": bool, "types": [...], "image", "thumbnails": {"250", "500", "1200", "small", "large"}}]}``,
  404 when the release has no art.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from ml.text import normalise

from .guards import rate_slot
from .store import cover_setting
from .transport import Budget, ProviderError, http_get

SEARCH_LIMIT = 10
MUSICBRAINZ_MIN_SCORE = 80
MUSICBRAINZ_MAX_RELEASES = 3
MAX_URL_CHARS = 1024  # Song.cover_url's max_length
ITUNES_ARTWORK_SIZE = "600x600bb"
_ITUNES_SIZE_RE = re.compile(r"/\d+x\d+bb\.(jpg|png|webp)$")
_MBID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_LUCENE_QUOTED_SPECIAL_RE = re.compile(r'(["\\])')


@dataclass(frozen=True)
class Provider:
    name: str
    find: Callable[[str, str, Budget], str | None]


def _base(setting: str) -> str:
    return str(cover_setting(setting)).rstrip("/")


def _get_json(url: str, budget: Budget) -> Any:
    return http_get(url, budget=budget, user_agent=cover_setting("COVER_USER_AGENT")).json()


def _field(data: Any, name: str, kind: type) -> Any:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, kind):
        raise ProviderError(f"unexpected response shape: no {kind.__name__} {name!r}")
    return value


def _same_name(ours: str, theirs: Any) -> bool:
    """Equal after normalisation, or one contains the other ("Beyoncé" vs "Beyoncé & JAY-Z")."""
    if not isinstance(theirs, str):
        return False
    a, b = normalise(ours), normalise(theirs)
    if not a or not b:
        return False
    return a == b or f" {a} " in f" {b} " or f" {b} " in f" {a} "


def _best_match(items: Iterable[Any], artist: str, track: str, *, artist_of, title_of) -> dict | None:
    """The first item whose artist and title both match ours; an exact title match wins."""
    fallback = None
    want_title = normalise(track)
    for item in items:
        if not isinstance(item, dict) or not _same_name(artist, artist_of(item)):
            continue
        title = title_of(item)
        if not _same_name(track, title):
            continue
        if normalise(title) == want_title:
            return item
        fallback = fallback or item
    return fallback


def _clean_url(url: Any) -> str | None:
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    # The public CDNs serve the same files over HTTPS; mobile clients refuse plain HTTP images.
    if (
        parts.scheme == "http"
        and parts.hostname
        and parts.hostname.endswith(("coverartarchive.org", "archive.org", "mzstatic.com", "dzcdn.net"))
    ):
        url = "https://" + url[len("http://") :]
    return url


# --- iTunes Search ---------------------------------------------------------------------------


def itunes_find(artist: str, track: str, budget: Budget) -> str | None:
    query = urlencode({"term": f"{artist} {track}", "media": "music", "entity": "song", "limit": SEARCH_LIMIT})
    data = _get_json(f"{_base('COVER_ITUNES_URL')}/search?{query}", budget)
    best = _best_match(
        _field(data, "results", list),
        artist,
        track,
        artist_of=lambda item: item.get("artistName"),
        title_of=lambda item: item.get("trackName"),
    )
    if best is None:
        return None
    artwork = best.get("artworkUrl100")
    if isinstance(artwork, str):
        artwork = _ITUNES_SIZE_RE.sub(rf"/{ITUNES_ARTWORK_SIZE}.\1", artwork)
    return _clean_url(artwork)


# --- Deezer ----------------------------------------------------------------------------------


def _deezer_term(text: str) -> str:
    return text.replace('"', " ")


def deezer_find(artist: str, track: str, budget: Budget) -> str | None:
    query = urlencode({"q": f'artist:"{_deezer_term(artist)}" track:"{_deezer_term(track)}"', "limit": SEARCH_LIMIT})
    data = _get_json(f"{_base('COVER_DEEZER_URL')}/search?{query}", budget)
    if isinstance(data, dict) and "error" in data:
        raise ProviderError(f"deezer error: {data['error']!r}")
    best = _best_match(
        _field(data, "data", list),
        artist,
        track,
        artist_of=lambda item: (item.get("artist") or {}).get("name") if isinstance(item.get("artist"), dict) else None,
        title_of=lambda item: item.get("title"),
    )
    if best is None:
        return None
    album = best.get("album")
    if not isinstance(album, dict):
        return None
    # 500x500 (cover_big) matches the other providers' size; bigger only as a fallback.
    return _clean_url(album.get("cover_big") or album.get("cover_xl") or album.get("cover_medium"))


# --- MusicBrainz + Cover Art Archive ---------------------------------------------------------


def _lucene_phrase(text: str) -> str:
    return '"' + _LUCENE_QUOTED_SPECIAL_RE.sub(r"\\\1", text) + '"'


def _credit_name(recording: dict) -> str:
    credits = recording.get("artist-credit")
    if not isinstance(credits, list):
        return ""
    return "".join(
        f"{credit.get('name', '')}{credit.get('joinphrase', '')}" for credit in credits if isinstance(credit, dict)
    )


def _score(recording: dict) -> int:
    try:
        return int(recording.get("score", 0))
    except (TypeError, ValueError):
        return 0


def musicbrainz_release_ids(artist: str, track: str, budget: Budget) -> list[str]:
    """Release MBIDs of the best-matching recordings, official releases first (at most a few)."""
    rate_slot("musicbrainz", float(cover_setting("COVER_MUSICBRAINZ_INTERVAL_S")), budget)
    query = urlencode(
        {
            "query": f"recording:{_lucene_phrase(track)} AND artist:{_lucene_phrase(artist)}",
            "fmt": "json",
            "limit": 5,
        }
    )
    data = _get_json(f"{_base('COVER_MUSICBRAINZ_URL')}/ws/2/recording?{query}", budget)
    recordings = [r for r in _field(data, "recordings", list) if isinstance(r, dict)]
    recordings.sort(key=_score, reverse=True)
    official: list[str] = []
    other: list[str] = []
    for recording in recordings:
        if _score(recording) < MUSICBRAINZ_MIN_SCORE or not _same_name(artist, _credit_name(recording)):
            continue
        if not _same_name(track, recording.get("title")):
            continue
        for release in recording.get("releases") or []:
            mbid = release.get("id") if isinstance(release, dict) else None
            if isinstance(mbid, str) and _MBID_RE.match(mbid) and mbid not in official and mbid not in other:
                (official if release.get("status") == "Official" else other).append(mbid)
    return (official + other)[:MUSICBRAINZ_MAX_RELEASES]


def cover_art_archive_front(mbid: str, budget: Budget) -> str | None:
    response = http_get(
        f"{_base('COVER_ART_ARCHIVE_URL')}/release/{quote(mbid)}",
        budget=budget,
        user_agent=cover_setting("COVER_USER_AGENT"),
    )
    if response.status == 404:
        return None
    images = [image for image in _field(response.json(), "images", list) if isinstance(image, dict)]
    front = next((image for image in images if image.get("front") is True), None) or next(
        (image for image in images if "Front" in (image.get("types") or [])), None
    )
    if front is None:
        return None
    thumbnails = front.get("thumbnails") if isinstance(front.get("thumbnails"), dict) else {}
    return _clean_url(thumbnails.get("500") or thumbnails.get("large") or front.get("image"))


def musicbrainz_find(artist: str, track: str, budget: Budget) -> str | None:
    for mbid in musicbrainz_release_ids(artist, track, budget):
        url = cover_art_archive_front(mbid, budget)
        if url:
            return url
    return None


PROVIDERS: tuple[Provider, ...] = (
    Provider("itunes", itunes_find),
    Provider("deezer", deezer_find),
    Provider("musicbrainz", musicbrainz_find),
)
