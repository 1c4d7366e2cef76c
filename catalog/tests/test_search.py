"""Catalog search: only songs the model knows, ranked exact > prefix > substring, then popularity."""

from __future__ import annotations

import pytest

from catalog.models import Song
from catalog.selectors import DENSE_TIER_ROWS
from catalog.services import catalog_publish

pytestmark = pytest.mark.django_db

SONGS = [
    ("Queen", "Bohemian Rhapsody", 90),
    ("Queen", "Killer Queen", 70),
    ("Queens of the Stone Age", "No One Knows", 80),
    ("Lady Gaga", "Bohemian Dreams", 95),
    ("The Bohemians", "Intro", 10),
    ("Elton John", "Bennie And The Jets - Remastered 2014", 60),
    ("Beyoncé", "Crazy In Love (feat. Jay-Z)", 85),
]


@pytest.fixture
def catalog(publish_songs):
    publish_songs(SONGS)


def search(api, q, **params):
    response = api.get("/catalog/search", {"q": q, **params})
    assert response.status_code == 200, response.content
    return [row["song_id"] for row in response.json()]


def test_results_have_the_contract_shape(api, catalog):
    response = api.get("/catalog/search", {"q": "bohemian rhapsody"})
    assert response.json()[0] == {
        "song_id": "Queen - Bohemian Rhapsody",
        "title": "Bohemian Rhapsody",
        "artist": "Queen",
        "album": "",
        "cover_url": None,
        "preview_url": None,
    }


def test_within_a_tier_more_popular_songs_come_first(api, catalog):
    # "queen" is a prefix of all three keys ("queen bohemian rhapsody", "queens of the stone age ...").
    assert search(api, "queen") == [
        "Queen - Bohemian Rhapsody",
        "Queens of the Stone Age - No One Knows",
        "Queen - Killer Queen",
    ]


def test_exact_title_match_comes_first_even_when_less_popular(api, catalog):
    assert search(api, "Intro")[0] == "The Bohemians - Intro"
    assert search(api, "bohemian rhapsody")[0] == "Queen - Bohemian Rhapsody"


def test_prefix_ranks_above_substring(api, catalog):
    # "bohemian": title prefix for both Bohemian songs; substring only for "The Bohemians".
    assert search(api, "bohemian") == [
        "Lady Gaga - Bohemian Dreams",
        "Queen - Bohemian Rhapsody",
        "The Bohemians - Intro",
    ]


def test_matching_ignores_case_accents_punctuation_and_tags(api, catalog):
    assert search(api, "BEYONCE crazy in love")[0] == "Beyoncé - Crazy In Love (feat. Jay-Z)"
    assert search(api, "bennie and the jets")[0] == "Elton John - Bennie And The Jets - Remastered 2014"
    assert search(api, "Queen - Bohemian Rhapsody!")[0] == "Queen - Bohemian Rhapsody"


def test_short_queries_match_prefixes_only(api, catalog):
    assert search(api, "in") == ["The Bohemians - Intro"]
    assert search(api, "q") == search(api, "qu")[: len(search(api, "q"))]


def test_limit_is_applied_and_bounded(api, catalog):
    assert len(search(api, "e", limit=1)) == 1
    for bad in ("0", "26", "ten", "-1"):
        response = api.get("/catalog/search", {"q": "queen", "limit": bad})
        assert response.status_code == 400
        assert "limit" in response.json()["errors"]


@pytest.mark.parametrize("q", ["", "x" * 101])
def test_query_length_is_validated(api, catalog, q):
    response = api.get("/catalog/search", {"q": q})
    assert response.status_code == 400
    assert "q" in response.json()["errors"]


def test_missing_query_is_a_400(api, catalog):
    assert api.get("/catalog/search").status_code == 400


def test_query_of_only_punctuation_finds_nothing(api, catalog):
    assert search(api, "%%__!!") == []


def test_songs_the_model_dropped_are_not_shown(api, catalog, publish_songs):
    publish_songs([s for s in SONGS if s[1] != "Bohemian Rhapsody"], version="test-v2")
    assert "Queen - Bohemian Rhapsody" not in search(api, "bohemian")
    assert Song.objects.get(song_id="Queen - Bohemian Rhapsody").is_available is False


def test_legacy_search_path_answers_from_the_catalog(api, catalog):
    response = api.get("/search", {"q": "killer"})
    assert [row["song_id"] for row in response.json()] == ["Queen - Killer Queen"]


def test_search_costs_at_most_two_queries_per_tier(api, publish_songs, django_assert_max_num_queries):
    publish_songs([*SONGS, ("Freddie", "Queen", 1), ("Freddie", "Killer Queen Live", 2)])
    with django_assert_max_num_queries(6):  # exact, prefix and substring: find ids, then fetch the best
        found = search(api, "queen", limit=25)
    assert found[0] == "Freddie - Queen"  # exact
    assert found[-1] == "Freddie - Killer Queen Live"  # substring only


def test_common_terms_rank_the_same_when_they_match_more_songs_than_are_sorted(api, publish_songs):
    """Past DENSE_TIER_ROWS matches a tier is read down the popularity index instead of sorted
    whole; the order must not change. Popularity is spread so every tier has a clear order."""
    n = DENSE_TIER_ROWS + 50
    love_songs = [(f"Artist {i}", f"Love Song {i}", (i * 7919) % 1000) for i in range(n)]
    my_loves = [(f"Band {i}", f"My Love {i}", (i * 104729) % 1000) for i in range(n)]
    # Popular enough to top the next tier, so a song counted twice across tiers would show.
    exact, prefix_only = ("Exact", "Love", 2000), ("Overkill", "Intro", 2000)
    publish_songs([*love_songs, *my_loves, exact, prefix_only, ("Retired", "Love Song Gone", 5000)])
    publish_songs([*love_songs, *my_loves, exact, prefix_only], version="test-v2")

    def by_popularity(rows):
        return [f"{a} - {t}" for a, t, _ in sorted(rows, key=lambda r: (-r[2], f"{r[0]} - {r[1]}"))]

    # exact, then a dense prefix tier (title "love ...")
    assert search(api, "love", limit=25) == ["Exact - Love", *by_popularity(love_songs)[:24]]
    # a dense prefix tier on its own
    assert search(api, "my lov", limit=25) == by_popularity(my_loves)[:25]
    # a sparse prefix tier ("overkill intro") hands over to a dense substring tier
    assert search(api, "ove", limit=25) == [
        "Overkill - Intro",
        *by_popularity([*love_songs, *my_loves, exact])[:24],
    ]


def test_publish_counts_created_updated_and_retired(db):
    items = [{"song_id": "A - One", "artist": "A", "title": "One", "popularity": 3}]
    assert catalog_publish(items=items, model_version="v1") == {"created": 1, "updated": 0, "retired": 0}
    items2 = [{"song_id": "B - Two", "artist": "B", "title": "Two", "popularity": 1}, {**items[0], "popularity": 9}]
    assert catalog_publish(items=items2, model_version="v2") == {"created": 1, "updated": 1, "retired": 0}
    assert catalog_publish(items=items2[:1], model_version="v3") == {"created": 0, "updated": 1, "retired": 1}
    assert Song.objects.get(song_id="A - One").popularity == 9


def test_substring_search_uses_the_trigram_index(catalog):
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN SELECT rowid FROM catalog_song_fts WHERE search_key LIKE '%hemia%'")
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "VIRTUAL TABLE INDEX" in plan
        else:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN SELECT id FROM catalog_song WHERE search_key LIKE '%%hemia%%'")
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "catalog_song_search_trgm" in plan
