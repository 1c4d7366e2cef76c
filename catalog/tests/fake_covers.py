"""A local stand-in for the cover services (stdlib ThreadingHTTPServer), for tests and benchmarks.

One server, one path prefix per service; point the settings at ``server.base_url(name)``:
``itunes``, ``deezer``, ``musicbrainz``, ``caa``. Every service can be made slow (before
answering, or half-way through the body), fail with a status, answer garbage or an empty result,
per test. Requests are recorded (path, query, headers, time) so tests can count them.

Response shapes (the documented public JSON, trimmed to realistic fields):

iTunes Search API — ``GET /search?term=<words>&media=music&entity=song&limit=<n>``::

    {"resultCount": 1, "results": [{"wrapperType": "track", "kind": "song", "artistId": 1,
      "trackId": 2, "artistName": "Queen", "collectionName": "A Night at the Opera",
      "trackName": "Bohemian Rhapsody", "artworkUrl30": ".../30x30bb.jpg",
      "artworkUrl60": ".../60x60bb.jpg", "artworkUrl100": ".../100x100bb.jpg", ...}]}

Deezer — ``GET /search?q=artist:"<artist>" track:"<track>"&limit=<n>``; errors are HTTP 200 with
an ``error`` object::

    {"data": [{"id": 3, "type": "track", "title": "Bohemian Rhapsody",
      "artist": {"id": 4, "name": "Queen", "type": "artist"},
      "album": {"id": 5, "title": "...", "cover": "...", "cover_small": ".../56x56-...jpg",
      "cover_medium": ".../250x250-...jpg", "cover_big": ".../500x500-...jpg",
      "cover_xl": ".../1000x1000-...jpg", "type": "album"}}], "total": 1}
    {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}}

MusicBrainz — ``GET /ws/2/recording?query=recording:"<t>" AND artist:"<a>"&fmt=json&limit=<n>``::

    {"created": "...", "count": 1, "offset": 0, "recordings": [{"id": "<mbid>", "score": 100,
      "title": "Bohemian Rhapsody", "artist-credit": [{"name": "Queen", "artist": {"id": "...",
      "name": "Queen"}}], "releases": [{"id": "<release mbid>", "title": "...", "status": "Official",
      "release-group": {"id": "...", "primary-type": "Album"}}]}]}

Cover Art Archive — ``GET /release/<mbid>`` answers 307 to the archive's ``index.json``::

    {"images": [{"types": ["Front"], "front": true, "back": false, "approved": true, "id": 1,
      "image": ".../1.jpg", "thumbnails": {"250": "...", "500": "...", "1200": "...",
      "small": "...", "large": "..."}}], "release": "https://musicbrainz.org/release/<mbid>"}

and 404 for a release without art. In this fake every MusicBrainz recording has two releases: the
first without art (404), the second with it, so clients must try more than one.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ml.text import normalise

SERVICES = ("itunes", "deezer", "musicbrainz", "caa")
PROVIDER_SERVICES = ("itunes", "deezer", "musicbrainz")
IMAGE_HOST = "http://images.fake-covers.test"
_DEEZER_TRACK_RE = re.compile(r'track:"([^"]*)"')
_MB_RECORDING_RE = re.compile(r'recording:"((?:[^"\\]|\\.)*)"')


@dataclass
class Behaviour:
    delay_s: float = 0.0  # before anything is sent
    stall_s: float = 0.0  # after the headers and half the body: a server that trickles
    status: int = 200
    garbage: bool = False
    body: bytes | None = None  # a 200 with exactly this body
    empty: bool = False


@dataclass
class Recorded:
    service: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float


@dataclass
class FakeSong:
    artist: str
    track: str
    services: tuple[str, ...]
    listed_artist: str  # the artist name the services report (a decoy when it differs)
    slug: str = field(init=False)
    track_key: str = field(init=False)  # normalise(track), what the fake's searches compare

    def __post_init__(self):
        self.slug = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.listed_artist}|{self.track}").hex[:12]
        self.track_key = normalise(self.track)

    @property
    def releases(self) -> tuple[str, str]:
        """(release without art, release with art)."""
        return (
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"no-art|{self.slug}")),
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"art|{self.slug}")),
        )


class FakeCoverServer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._behaviour: dict[str, Behaviour] = {}
        self._requests: list[Recorded] = []
        self._wake = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-covers", daemon=True)
        self.reset()

    # --- life cycle ---
    def start(self) -> FakeCoverServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._wake.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        """Healthy, fast, empty catalog, no recorded requests; wakes any handler still sleeping."""
        with self._lock:
            self._wake.set()
            self._wake = threading.Event()
            self._behaviour = {service: Behaviour() for service in SERVICES}
            self._by_track: dict[str, list[FakeSong]] = {}
            self._by_release: dict[str, FakeSong] = {}
            self._requests = []

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def base_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port}/{service}"

    def settings(self) -> dict[str, str]:
        return {
            "COVER_ITUNES_URL": self.base_url("itunes"),
            "COVER_DEEZER_URL": self.base_url("deezer"),
            "COVER_MUSICBRAINZ_URL": self.base_url("musicbrainz"),
            "COVER_ART_ARCHIVE_URL": self.base_url("caa"),
        }

    # --- programming it ---
    def add_song(
        self,
        artist: str,
        track: str,
        *,
        services: tuple[str, ...] = PROVIDER_SERVICES,
        listed_artist: str | None = None,
    ) -> FakeSong:
        song = FakeSong(artist, track, tuple(services), listed_artist or artist)
        with self._lock:
            self._by_track.setdefault(song.track_key, []).append(song)
            self._by_release[song.releases[1]] = song
        return song

    def behave(self, *services: str, **changes) -> None:
        """E.g. ``behave("itunes", delay_s=5)``, ``behave("deezer", status=500)``, ``behave("caa", garbage=True)``."""
        with self._lock:
            for service in services or SERVICES:
                for name, value in changes.items():
                    setattr(self._behaviour[service], name, value)

    def release_sleepers(self) -> None:
        with self._lock:
            self._wake.set()
            self._wake = threading.Event()

    # --- what happened ---
    def requests(self, service: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self._requests if service is None or r.service == service]

    def hits(self, service: str | None = None) -> int:
        return len(self.requests(service))

    # --- the covers each service knows ---
    @staticmethod
    def itunes_artwork(song: FakeSong, size: str = "100x100bb") -> str:
        return f"{IMAGE_HOST}/itunes/{song.slug}/{size}.jpg"

    @staticmethod
    def deezer_cover(song: FakeSong, size: int = 500) -> str:
        return f"{IMAGE_HOST}/deezer/{song.slug}/{size}x{size}-000000-80-0-0.jpg"

    @staticmethod
    def caa_thumbnail(song: FakeSong, size: str = "500") -> str:
        return f"{IMAGE_HOST}/caa/{song.releases[1]}/1-{size}.jpg"

    # --- answering ---
    def _respond(self, service: str, path: str, query: dict[str, list[str]]) -> tuple[int, dict, bytes]:
        def known(track_key: str) -> list[FakeSong]:
            with self._lock:
                return [song for song in self._by_track.get(track_key, []) if service in song.services]

        if service == "itunes" and path == "/search":
            # Any run of words in the term may be the title (the term is "artist title").
            words = normalise(query.get("term", [""])[0]).split()
            runs = dict.fromkeys(" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1))
            found = [song for run in runs for song in known(run)]
            return _json(
                {
                    "resultCount": len(found),
                    "results": [
                        {
                            "wrapperType": "track",
                            "kind": "song",
                            "artistId": 1,
                            "trackId": 2,
                            "artistName": s.listed_artist,
                            "collectionName": f"{s.track} (Single)",
                            "trackName": s.track,
                            "artworkUrl30": self.itunes_artwork(s, "30x30bb"),
                            "artworkUrl60": self.itunes_artwork(s, "60x60bb"),
                            "artworkUrl100": self.itunes_artwork(s),
                            "previewUrl": f"{IMAGE_HOST}/itunes/{s.slug}/preview.m4a",
                        }
                        for s in found
                    ],
                }
            )
        if service == "deezer" and path == "/search":
            match = _DEEZER_TRACK_RE.search(query.get("q", [""])[0])
            found = known(normalise(match.group(1)) if match else "")
            return _json(
                {
                    "data": [
                        {
                            "id": 3,
                            "type": "track",
                            "title": s.track,
                            "artist": {"id": 4, "name": s.listed_artist, "type": "artist"},
                            "album": {
                                "id": 5,
                                "title": f"{s.track} (Single)",
                                "cover": self.deezer_cover(s, 120),
                                "cover_small": self.deezer_cover(s, 56),
                                "cover_medium": self.deezer_cover(s, 250),
                                "cover_big": self.deezer_cover(s, 500),
                                "cover_xl": self.deezer_cover(s, 1000),
                                "type": "album",
                            },
                        }
                        for s in found
                    ],
                    "total": len(found),
                }
            )
        if service == "musicbrainz" and path == "/ws/2/recording":
            match = _MB_RECORDING_RE.search(query.get("query", [""])[0])
            found = known(normalise(re.sub(r"\\(.)", r"\1", match.group(1))) if match else "")
            return _json(
                {
                    "created": "2026-01-01T00:00:00.000Z",
                    "count": len(found),
                    "offset": 0,
                    "recordings": [
                        {
                            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"recording|{s.slug}")),
                            "score": 100,
                            "title": s.track,
                            "artist-credit": [
                                {"name": s.listed_artist, "artist": {"id": "a", "name": s.listed_artist}}
                            ],
                            "releases": [
                                {
                                    "id": release,
                                    "title": f"{s.track} (Single)",
                                    "status": "Official",
                                    "release-group": {"id": "rg", "primary-type": "Single"},
                                }
                                for release in s.releases
                            ],
                        }
                        for s in found
                    ],
                }
            )
        if service == "caa":
            redirect = re.fullmatch(r"/release/([0-9a-f-]{36})/?", path)
            if redirect:
                return 307, {"Location": f"/caa/download/mbid-{redirect.group(1)}/index.json"}, b""
            listing = re.fullmatch(r"/download/mbid-([0-9a-f-]{36})/index\.json", path)
            if listing:
                mbid = listing.group(1)
                with self._lock:
                    song = self._by_release.get(mbid)
                if song is None or "musicbrainz" not in song.services:
                    return 404, {"Content-Type": "text/plain"}, b"Not Found"
                base = f"{IMAGE_HOST}/caa/{mbid}/1"
                return _json(
                    {
                        "images": [
                            {
                                "types": ["Front"],
                                "front": True,
                                "back": False,
                                "approved": True,
                                "edit": 1,
                                "id": 1,
                                "comment": "",
                                "image": f"{base}.jpg",
                                "thumbnails": {
                                    "250": f"{base}-250.jpg",
                                    "500": f"{base}-500.jpg",
                                    "1200": f"{base}-1200.jpg",
                                    "small": f"{base}-250.jpg",
                                    "large": f"{base}-500.jpg",
                                },
                            }
                        ],
                        "release": f"https://musicbrainz.org/release/{mbid}",
                    }
                )
        return 404, {"Content-Type": "text/plain"}, b"Not Found"

    def _empty(self, service: str) -> tuple[int, dict, bytes]:
        if service == "itunes":
            return _json({"resultCount": 0, "results": []})
        if service == "deezer":
            return _json({"data": [], "total": 0})
        if service == "musicbrainz":
            return _json({"created": "2026-01-01T00:00:00.000Z", "count": 0, "offset": 0, "recordings": []})
        return 404, {"Content-Type": "text/plain"}, b"Not Found"


def _json(data) -> tuple[int, dict, bytes]:
    return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(data).encode()


def _handler_for(fake: FakeCoverServer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            parts = urlsplit(self.path)
            service, _, rest = parts.path.lstrip("/").partition("/")
            if service not in SERVICES:
                self._send(404, {"Content-Type": "text/plain"}, b"no such service", stall_s=0, wake=fake._wake)
                return
            with fake._lock:
                behaviour = Behaviour(**vars(fake._behaviour[service]))
                wake = fake._wake
                fake._requests.append(
                    Recorded(service, "/" + rest, parse_qs(parts.query), dict(self.headers.items()), time.monotonic())
                )
            if behaviour.delay_s:
                wake.wait(behaviour.delay_s)  # interruptible: reset()/stop() wake sleepers
            if behaviour.status != 200:
                answer = (behaviour.status, {"Content-Type": "application/json"}, b'{"error": "fake failure"}')
            elif behaviour.garbage:
                answer = (200, {"Content-Type": "application/json"}, b"<html>502 Bad Gateway</html>")
            elif behaviour.body is not None:
                answer = (200, {"Content-Type": "application/json"}, behaviour.body)
            elif behaviour.empty:
                answer = fake._empty(service)
            else:
                answer = fake._respond(service, "/" + rest, parse_qs(parts.query))
            self._send(*answer, stall_s=behaviour.stall_s, wake=wake)

        def _send(self, status: int, headers: dict, body: bytes, *, stall_s: float, wake: threading.Event) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if stall_s:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    wake.wait(stall_s)
                    body = body[len(body) // 2 :]
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting, as it should

        def log_message(self, format, *args):
            pass

    return Handler
