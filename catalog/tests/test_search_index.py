"""The in-memory search index answers exactly as the database tiers do, and serving uses it only
while the catalog is the loaded model's."""

from __future__ import annotations

import random

import pytest

from catalog.search_index import SongSearchIndex
from catalog.selectors import (
    DENSE_TIER_ROWS,
    catalog_check_reset,
    song_search,
    song_search_in_database,
)
from catalog.services import catalog_publish
from recommendations.tests.conftest import served_model, trained_root  # noqa: F401 (fixtures: a published model)

pytestmark = pytest.mark.django_db

WORDS = ["love", "lover", "loved", "glove", "the", "other", "brother", "queen", "night", "knight", "día", "über"]


def generated_catalog(n: int, seed: int = 7) -> list[dict]:
    """Songs whose names overlap a lot (shared words, prefixes of each other, accents, equal
    popularity), so every tier and every tie-break is exercised."""
    rng = random.Random(seed)
    items: dict[str, dict] = {}
    while len(items) < n:
        artist = " ".join(rng.choice(WORDS).title() for _ in range(rng.randint(1, 2))) + f" {rng.randint(1, 40)}"
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.1:
            title += " (Live)"
        song_id = f"{artist} - {title}"
        items[song_id] = {"song_id": song_id, "artist": artist, "title": title, "popularity": rng.randint(0, 30)}
    return list(items.values())


def queries_for(items: list[dict], seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    picked = [*WORDS, "l", "lo", "lov", "ove", "er", "the night", "über", "uber", "dia", "%%", "zzz", "live"]
    for item in rng.sample(items, 40):
        text = item["song_id"].lower()
        start = rng.randrange(len(text))
        picked += [item["title"], item["song_id"], text[start : start + rng.randint(1, 8)]]
    return picked


def index_of(items: list[dict]) -> SongSearchIndex:
    return SongSearchIndex(
        [item["song_id"] for item in items],
        [item["artist"] for item in items],
        [item["title"] for item in items],
        [item["popularity"] for item in items],
    )


def test_the_index_ranks_like_the_database_on_every_tier_and_tie():
    items = generated_catalog(DENSE_TIER_ROWS + 400)  # dense tiers too: "love" matches most songs
    catalog_publish(items=items, model_version="v1")
    index = index_of(items)
    for query in queries_for(items):
        for limit in (1, 10, 25):
            in_memory = [items[row]["song_id"] for row in index.search(query, limit=limit)]
            in_database = [song.song_id for song in song_search_in_database(query=query, limit=limit)]
            assert in_memory == in_database, (query, limit)


def test_an_empty_or_unmatched_query_finds_nothing():
    index = index_of(generated_catalog(50))
    assert index.search("", limit=10) == []
    assert index.search("?!", limit=10) == []
    assert index.search("qqqqq", limit=10) == []
    assert index_of([]).search("love", limit=10) == []


def test_search_answers_from_memory_when_the_catalog_is_the_models(
    api,
    served_model,  # noqa: F811
    django_assert_num_queries,
):
    catalog_check_reset()
    query = served_model.items[0]["title"][:4]
    expected = [song.song_id for song in song_search_in_database(query=query, limit=10)]
    assert expected
    with django_assert_num_queries(1):  # which model the catalog is: once a second per process
        first = api.get("/catalog/search", {"q": query}).json()
    with django_assert_num_queries(0):
        again = api.get("/catalog/search", {"q": query}).json()
    assert first == again
    assert [row["song_id"] for row in first] == expected
    assert set(first[0]) == {"song_id", "title", "artist", "album", "cover_url", "preview_url"}


def test_a_catalog_published_from_another_model_is_searched_in_the_database(served_model):  # noqa: F811
    catalog_publish(items=[{"song_id": "Zed - Zebra Song", "artist": "Zed", "title": "Zebra Song"}], model_version="v9")
    catalog_check_reset()
    assert [song.song_id for song in song_search(query="zebra", limit=5)] == ["Zed - Zebra Song"]
