"""Cover art against a local fake of iTunes, Deezer, MusicBrainz and the Cover Art Archive.

Nothing of ours is patched: the settings point the provider URLs at the fake server (see
``fake_covers``), which can be slow, fail, answer garbage or nothing, and records every request.
Timeouts and budgets are short here (0.3 s per request, 0.6 s per look-up) to keep the file fast.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from io import StringIO
from itertools import pairwise

import pytest
import redis
from django.core.cache import caches
from django.core.management import CommandError, call_command

from catalog.covers import (
    cached_cover_urls,
    cover_cache_key,
    cover_worker_drain,
    cover_worker_shutdown,
)
from catalog.covers.worker import cover_worker
from catalog.models import Song
from catalog.tests.fake_covers import FakeCoverServer

TIMEOUT_S = 0.3
BUDGET_S = 0.6
SLOW_S = 5.0
# Time a call may take beyond its budget on a busy 2-core machine.
SLACK_S = 0.35


@pytest.fixture(scope="session")
def fake_server():
    server = FakeCoverServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server, settings):
    fake_server.reset()
    settings.COVERS_ENABLED = True
    for name, url in fake_server.settings().items():
        setattr(settings, name, url)
    settings.COVER_TIMEOUT_S = TIMEOUT_S
    settings.COVER_BUDGET_S = BUDGET_S
    settings.COVER_MUSICBRAINZ_INTERVAL_S = 0
    settings.COVER_BREAKER_FAILURES = 3
    settings.COVER_BREAKER_COOLDOWN_S = 60
    settings.COVER_USER_AGENT = "spotify-redux-tests/1.0 ( tests@example.invalid )"
    yield fake_server
    fake_server.release_sleepers()
    cover_worker_shutdown(timeout=5)
    fake_server.reset()


def get_cover(api, artist: str, track: str) -> tuple[str | None, float]:
    started = time.monotonic()
    response = api.get("/cover", {"artist": artist, "track": track})
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.content
    return response.json()["cover_url"], elapsed


def cover_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("cover-worker")]


# --- the chain ---------------------------------------------------------------------------------


def test_itunes_answers_first_with_600px_artwork(api, fake):
    song = fake.add_song("Queen", "Bohemian Rhapsody")

    url, _ = get_cover(api, "Queen", "Bohemian Rhapsody")

    assert url == fake.itunes_artwork(song, "600x600bb")
    assert [r.service for r in fake.requests()] == ["itunes"]


def test_empty_itunes_falls_through_to_deezer(api, fake):
    song = fake.add_song("Queen", "Bohemian Rhapsody")
    fake.behave("itunes", empty=True)

    url, _ = get_cover(api, "Queen", "Bohemian Rhapsody")

    assert url == fake.deezer_cover(song, 500)
    assert [r.service for r in fake.requests()] == ["itunes", "deezer"]


def test_errors_and_garbage_fall_through_to_musicbrainz_and_the_cover_art_archive(api, fake):
    song = fake.add_song("Queen", "Bohemian Rhapsody")
    fake.behave("itunes", status=500)
    fake.behave("deezer", garbage=True)

    url, _ = get_cover(api, "Queen", "Bohemian Rhapsody")

    assert url == fake.caa_thumbnail(song)
    # The first release has no art (404 after the redirect), so the second one is asked too.
    assert [r.service for r in fake.requests()] == ["itunes", "deezer", "musicbrainz", "caa", "caa", "caa", "caa"]


def test_json_nested_too_deeply_to_parse_is_a_provider_failure_not_a_server_error(api, fake):
    song = fake.add_song("Queen", "Bohemian Rhapsody", services=("deezer",))
    fake.behave("itunes", body=b"[" * 5000 + b"]" * 5000)

    response = api.get("/cover", {"artist": "Queen", "track": "Bohemian Rhapsody"})

    assert response.status_code == 200
    assert response.json() == {"cover_url": fake.deezer_cover(song)}


def test_a_search_hit_for_another_artist_is_not_trusted(api, fake):
    fake.add_song("Queen", "Bohemian Rhapsody", services=("itunes",), listed_artist="The Muppets")
    song = fake.add_song("Queen", "Bohemian Rhapsody", services=("deezer",))

    url, _ = get_cover(api, "Queen", "Bohemian Rhapsody")

    assert url == fake.deezer_cover(song, 500)


def test_name_variants_share_one_cached_cover(api, fake):
    song = fake.add_song("Elton John", "Bennie And The Jets")

    url, _ = get_cover(api, "Elton John", "Bennie And The Jets - Remastered 2014")
    again, _ = get_cover(api, "elton john", "Bennie and the Jets")

    assert url == again == fake.itunes_artwork(song, "600x600bb")
    assert fake.hits() == 1


def test_no_cover_anywhere_is_cached_as_a_miss(api, fake):
    fake.behave("itunes", "deezer", "musicbrainz", empty=True)

    assert get_cover(api, "Nobody", "Unknown Song")[0] is None
    asked = fake.hits()
    assert get_cover(api, "Nobody", "Unknown Song")[0] is None
    assert cached_cover_urls([("Nobody", "Unknown Song")]) == {("Nobody", "Unknown Song"): None}
    assert cover_worker_drain(timeout=5)

    assert asked == 3
    assert fake.hits() == asked


# --- the budget --------------------------------------------------------------------------------


def test_a_five_second_provider_does_not_make_cover_take_five_seconds(api, fake):
    song = fake.add_song("Queen", "Bohemian Rhapsody")
    fake.behave("itunes", delay_s=SLOW_S)

    url, elapsed = get_cover(api, "Queen", "Bohemian Rhapsody")

    assert url == fake.deezer_cover(song, 500)
    assert elapsed < TIMEOUT_S + SLACK_S


def test_a_provider_that_stalls_mid_body_is_cut_off_at_its_timeout(api, fake):
    song = fake.add_song("Queen", "Bohemian Rhapsody")
    fake.behave("itunes", stall_s=SLOW_S)

    url, elapsed = get_cover(api, "Queen", "Bohemian Rhapsody")

    assert url == fake.deezer_cover(song, 500)
    assert elapsed < TIMEOUT_S + SLACK_S


def test_all_providers_slow_answers_null_within_the_budget_and_retries_soon(api, fake, settings):
    settings.COVER_RETRY_TTL_S = 0.5
    fake.add_song("Queen", "Bohemian Rhapsody")
    fake.behave(delay_s=SLOW_S)

    url, elapsed = get_cover(api, "Queen", "Bohemian Rhapsody")
    assert url is None
    assert elapsed < BUDGET_S + SLACK_S
    asked = fake.hits()
    assert asked == 2  # iTunes and Deezer timed out; no time left for MusicBrainz

    # An incomplete answer is cached briefly (COVER_RETRY_TTL_S), not for the miss TTL.
    assert get_cover(api, "Queen", "Bohemian Rhapsody")[0] is None
    assert fake.hits() == asked
    fake.reset()
    song = fake.add_song("Queen", "Bohemian Rhapsody")
    time.sleep(0.6)
    assert get_cover(api, "Queen", "Bohemian Rhapsody")[0] == fake.itunes_artwork(song, "600x600bb")


# --- the circuit breaker -----------------------------------------------------------------------


def test_breaker_opens_after_repeated_failures_and_closes_after_the_cooldown(api, fake, settings):
    settings.COVER_BREAKER_FAILURES = 2
    settings.COVER_BREAKER_COOLDOWN_S = 0.4
    songs = [fake.add_song("Artist", f"Song {n}") for n in range(5)]
    fake.behave("itunes", status=503)

    for song in songs[:2]:
        assert get_cover(api, song.artist, song.track)[0] == fake.deezer_cover(song, 500)
    assert fake.hits("itunes") == 2

    # Open: iTunes is not asked at all, Deezer answers.
    assert get_cover(api, songs[2].artist, songs[2].track)[0] == fake.deezer_cover(songs[2], 500)
    assert fake.hits("itunes") == 2

    # After the cool-down one probe goes through; it succeeds, so the breaker closes.
    fake.behave("itunes", status=200)
    time.sleep(0.45)
    assert get_cover(api, songs[3].artist, songs[3].track)[0] == fake.itunes_artwork(songs[3], "600x600bb")
    assert get_cover(api, songs[4].artist, songs[4].track)[0] == fake.itunes_artwork(songs[4], "600x600bb")
    assert fake.hits("itunes") == 4


def test_a_failed_probe_opens_the_breaker_again(api, fake, settings):
    settings.COVER_BREAKER_FAILURES = 2
    settings.COVER_BREAKER_COOLDOWN_S = 0.3
    songs = [fake.add_song("Artist", f"Song {n}") for n in range(4)]
    fake.behave("itunes", garbage=True)
    for song in songs[:2]:
        get_cover(api, song.artist, song.track)
    assert fake.hits("itunes") == 2

    time.sleep(0.35)
    get_cover(api, songs[2].artist, songs[2].track)  # the probe, garbage again
    get_cover(api, songs[3].artist, songs[3].track)  # open again: skipped

    assert fake.hits("itunes") == 3


# --- provider etiquette ------------------------------------------------------------------------


def test_every_request_sends_the_user_agent(api, fake):
    fake.add_song("Queen", "Bohemian Rhapsody", services=("musicbrainz",))

    assert get_cover(api, "Queen", "Bohemian Rhapsody")[0] is not None

    assert {r.headers.get("User-Agent") for r in fake.requests()} == {
        "spotify-redux-tests/1.0 ( tests@example.invalid )"
    }


def test_musicbrainz_gets_at_most_one_request_per_interval(api, fake, settings):
    settings.COVER_MUSICBRAINZ_INTERVAL_S = 0.3
    settings.COVER_BUDGET_S = 1.5
    settings.COVER_TIMEOUT_S = 1.0
    songs = [fake.add_song("Artist", f"Song {n}", services=("musicbrainz",)) for n in range(3)]

    for song in songs:
        assert get_cover(api, song.artist, song.track)[0] == fake.caa_thumbnail(song)

    times = [r.at for r in fake.requests("musicbrainz")]
    assert len(times) == 3
    # Each request waits for the previous one's interval (a little slack for when the fake
    # server, rather than the client, notes the time).
    assert all(later - earlier >= 0.3 * 0.9 for earlier, later in pairwise(times))


def test_musicbrainz_is_skipped_when_its_slot_would_not_come_within_the_budget(api, fake, settings):
    settings.COVER_MUSICBRAINZ_INTERVAL_S = 30
    fake.behave("itunes", "deezer", empty=True)
    first, second = fake.add_song("A", "One"), fake.add_song("A", "Two")

    assert get_cover(api, first.artist, first.track)[0] == fake.caa_thumbnail(first)
    url, elapsed = get_cover(api, second.artist, second.track)

    assert url is None
    assert elapsed < BUDGET_S
    assert fake.hits("musicbrainz") == 1


# --- responses: cache only, background fill ----------------------------------------------------


def test_covers_disabled_means_no_lookups_at_all(api, fake, settings):
    settings.COVERS_ENABLED = False
    fake.add_song("Queen", "Bohemian Rhapsody")

    assert get_cover(api, "Queen", "Bohemian Rhapsody")[0] is None
    assert cached_cover_urls([("Queen", "Bohemian Rhapsody")]) == {("Queen", "Bohemian Rhapsody"): None}

    assert fake.hits() == 0
    assert cover_threads() == []


def test_no_worker_thread_starts_until_a_song_is_missing(fake):
    song = fake.add_song("Queen", "Bohemian Rhapsody")
    caches["default"].set(cover_cache_key(song.artist, song.track), "https://img.example/q.jpg")

    assert cached_cover_urls([(song.artist, song.track)]) == {(song.artist, song.track): "https://img.example/q.jpg"}
    assert cover_threads() == []

    cached_cover_urls([("Queen", "Another One Bites the Dust")])
    assert cover_threads() != []


def test_a_forked_child_starts_with_no_worker_threads_and_an_empty_queue(fake):
    """gunicorn forks workers from a preloaded master: a child must not believe it has threads."""
    fake.behave(delay_s=SLOW_S)
    cached_cover_urls([("Artist", "Song")])
    assert cover_worker.thread_count > 0

    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only, never return into pytest
        ok = cover_worker.thread_count == 0 and cover_worker.submit([("Artist", "Song")]) == 1
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0


def test_search_queues_unknown_covers_and_the_next_response_has_them(api, fake, publish_songs):
    publish_songs([("Queen", "Bohemian Rhapsody", 90), ("Queen", "Killer Queen", 70)])
    rhapsody, killer = fake.add_song("Queen", "Bohemian Rhapsody"), fake.add_song("Queen", "Killer Queen")

    first = api.get("/catalog/search", {"q": "queen"}).json()
    assert [row["cover_url"] for row in first] == [None, None]
    assert cover_worker_drain(timeout=5)
    second = api.get("/catalog/search", {"q": "queen"}).json()

    assert [row["cover_url"] for row in second] == [
        fake.itunes_artwork(rhapsody, "600x600bb"),
        fake.itunes_artwork(killer, "600x600bb"),
    ]


def test_search_latency_does_not_depend_on_provider_latency(api, fake, publish_songs):
    publish_songs([(f"Artist {n}", f"Song {n}", 100 - n) for n in range(10)])
    fake.behave(delay_s=SLOW_S)
    api.get("/catalog/search", {"q": "song"})  # warm the query path

    started = time.monotonic()
    rows = api.get("/catalog/search", {"q": "song", "limit": 10}).json()
    elapsed = time.monotonic() - started

    assert len(rows) == 10
    assert elapsed < 0.25


def test_the_queue_is_deduplicated(fake):
    song = fake.add_song("Queen", "Bohemian Rhapsody")
    fake.behave("itunes", delay_s=0.1)

    for _ in range(5):
        cached_cover_urls([(song.artist, song.track), ("queen", "Bohemian Rhapsody - Remastered 2011")])
    assert cover_worker_drain(timeout=5)

    assert fake.hits() == 1
    assert cached_cover_urls([(song.artist, song.track)])[(song.artist, song.track)] == fake.itunes_artwork(
        song, "600x600bb"
    )


def test_a_full_queue_drops_songs_instead_of_blocking(fake, settings):
    settings.COVER_QUEUE_MAX = 2
    settings.COVER_WORKERS = 1
    fake.behave(delay_s=SLOW_S)
    dropped_before = cover_worker.dropped

    started = time.monotonic()
    cached_cover_urls([("Artist", f"Song {n}") for n in range(10)])
    elapsed = time.monotonic() - started

    assert elapsed < 0.05
    assert cover_worker.dropped - dropped_before == 8


def test_a_cache_outage_costs_covers_not_the_response(fake, settings):
    settings.CACHES = {
        **settings.CACHES,
        "unreachable": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    settings.COVER_CACHE_ALIAS = "unreachable"

    assert cached_cover_urls([("Queen", "Bohemian Rhapsody")]) == {("Queen", "Bohemian Rhapsody"): None}
    assert fake.hits() == 0


# --- the shared cache on real Redis ------------------------------------------------------------


@pytest.fixture
def two_redis_clients(settings):
    """Two independent django-redis cache clients on the same Redis, under a key prefix of their own."""
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/7"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis answers at {url} ({exc}); set REDIS_URL to run this test")
    prefix = f"covers-test-{uuid.uuid4().hex}"
    client = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": prefix,
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
    }
    settings.CACHES = {**settings.CACHES, "covers_a": dict(client), "covers_b": dict(client)}
    assert caches["covers_a"] is not caches["covers_b"]
    yield caches["covers_a"], caches["covers_b"]
    caches["covers_a"].delete_pattern("*")


def test_results_are_shared_across_two_cache_clients_on_redis(api, fake, settings, two_redis_clients):
    song = fake.add_song("Queen", "Bohemian Rhapsody")
    fake.behave("deezer", "musicbrainz", empty=True)

    settings.COVER_CACHE_ALIAS = "covers_a"
    assert get_cover(api, "Queen", "Bohemian Rhapsody")[0] == fake.itunes_artwork(song, "600x600bb")
    fake.behave("itunes", empty=True)
    assert get_cover(api, "Nobody", "Unknown Song")[0] is None
    asked = fake.hits()

    settings.COVER_CACHE_ALIAS = "covers_b"
    covers = cached_cover_urls([("Queen", "Bohemian Rhapsody"), ("Nobody", "Unknown Song")])
    assert cover_worker_drain(timeout=5)

    assert covers == {
        ("Queen", "Bohemian Rhapsody"): fake.itunes_artwork(song, "600x600bb"),
        ("Nobody", "Unknown Song"): None,
    }
    assert get_cover(api, "Nobody", "Unknown Song")[0] is None
    assert fake.hits() == asked  # the known miss was shared too: nothing looked up again


def test_misses_live_shorter_than_hits_in_redis(api, fake, settings, two_redis_clients):
    cache, _ = two_redis_clients
    settings.COVER_CACHE_ALIAS = "covers_a"
    settings.COVER_HIT_TTL_S, settings.COVER_MISS_TTL_S, settings.COVER_RETRY_TTL_S = 1000, 100, 10
    fake.add_song("Queen", "Bohemian Rhapsody", services=("itunes",))
    fake.behave("deezer", "musicbrainz", empty=True)

    get_cover(api, "Queen", "Bohemian Rhapsody")
    get_cover(api, "Nobody", "Unknown Song")
    fake.behave(status=500)
    get_cover(api, "Nobody", "Other Song")

    assert 990 <= cache.ttl(cover_cache_key("Queen", "Bohemian Rhapsody")) <= 1000
    assert 90 <= cache.ttl(cover_cache_key("Nobody", "Unknown Song")) <= 100
    assert 1 <= cache.ttl(cover_cache_key("Nobody", "Other Song")) <= 10


# --- manage.py warm_covers ---------------------------------------------------------------------


def warm(*args: str) -> str:
    out = StringIO()
    call_command("warm_covers", *args, "--rate", "1000", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_warm_covers_fills_the_most_popular_songs(fake, publish_songs):
    publish_songs([("Queen", "Bohemian Rhapsody", 90), ("Queen", "Killer Queen", 70), ("Queen", "Intro", 10)])
    rhapsody, killer = fake.add_song("Queen", "Bohemian Rhapsody"), fake.add_song("Queen", "Killer Queen")
    fake.add_song("Queen", "Intro")

    output = warm("--limit", "2")

    assert "2 covers" in output
    covers = dict(Song.objects.values_list("title", "cover_url"))
    assert covers == {
        "Bohemian Rhapsody": fake.itunes_artwork(rhapsody, "600x600bb"),
        "Killer Queen": fake.itunes_artwork(killer, "600x600bb"),
        "Intro": "",
    }
    assert cached_cover_urls([("Queen", "Killer Queen")])[("Queen", "Killer Queen")] == covers["Killer Queen"]


def test_warm_covers_only_missing_resumes_without_repeating_lookups(fake, publish_songs):
    publish_songs([("Queen", "Bohemian Rhapsody", 90), ("Queen", "Killer Queen", 70), ("Queen", "Intro", 10)])
    songs = [fake.add_song("Queen", title) for title in ("Bohemian Rhapsody", "Killer Queen")]
    warm("--limit", "1")
    caches["default"].set(cover_cache_key("Queen", "Killer Queen"), "https://img.example/killer.jpg")  # another run
    asked = fake.hits()

    output = warm("--only-missing")

    # Rhapsody has a cover_url, Killer Queen is copied from the cache; only Intro is looked up (and has none).
    assert "1 to look up, 1 covers to copy from the cache, 1 already done" in output
    assert fake.hits() - asked == 3  # Intro: iTunes, Deezer, MusicBrainz
    assert Song.objects.get(title="Killer Queen").cover_url == "https://img.example/killer.jpg"
    assert Song.objects.get(title="Bohemian Rhapsody").cover_url == fake.itunes_artwork(songs[0], "600x600bb")

    asked = fake.hits()
    assert "0 to look up" in warm("--only-missing")
    assert fake.hits() == asked


def test_warm_covers_refuses_when_covers_are_disabled_or_input_is_bad(fake, settings, db):
    with pytest.raises(CommandError, match="at least 1"):
        warm("--limit", "0")
    settings.COVERS_ENABLED = False
    with pytest.raises(CommandError, match="COVERS_ENABLED"):
        warm()
