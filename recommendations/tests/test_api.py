"""Recommendation endpoints on a small model trained in this test session (see conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from django.conf import settings

from likes.services import like_toggle
from recommendations.model_store import model_store

pytestmark = pytest.mark.django_db

REC_KEYS = {"song_id", "title", "artist", "cover_url", "distance"}


def post(client, path, payload):
    return client.post(path, payload, format="json")


def result_ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [rec["song_id"] for rec in response.json()["results"]]


def assert_artist_cap(recs):
    counts = Counter(rec["artist"].casefold() for rec in recs)
    assert max(counts.values(), default=0) <= settings.MAX_SONGS_PER_ARTIST, counts


# --- cold start -------------------------------------------------------------------------------


def test_cold_start_returns_the_contract_shape(api, served_model, seed_ids):
    response = post(api, "/recommendations/cold-start", {"seeds": seed_ids[:3], "limit": 7})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "seed_count"}
    assert body["seed_count"] == 3
    assert len(body["results"]) == 7
    for rec in body["results"]:
        assert set(rec) == REC_KEYS
        assert 0.0 <= rec["distance"] <= 2.0
    assert_artist_cap(body["results"])


def test_cold_start_never_returns_a_seed_and_is_deterministic(api, served_model, seed_ids):
    payload = {"seeds": seed_ids[:5], "limit": 20}
    first = result_ids(post(api, "/recommendations/cold-start", payload))
    assert not set(first) & set(seed_ids[:5])
    assert len(set(first)) == len(first)
    assert result_ids(post(api, "/recommendations/cold-start", payload)) == first


def test_cold_start_results_follow_the_seeds_taste(api, served_model, taste_groups):
    """Seeds from one taste cluster of the demo data bring songs of that cluster, not another's."""
    group_a, group_b = taste_groups
    recs = result_ids(post(api, "/recommendations/cold-start", {"seeds": group_a[:5], "limit": 10}))
    in_a = sum(song in group_a for song in recs)
    in_b = sum(song in group_b for song in recs)
    assert in_a > in_b


def test_unknown_seeds_are_skipped(api, served_model, seed_ids):
    response = post(api, "/recommendations/cold-start", {"seeds": ["Nobody - Nothing", seed_ids[0]]})
    assert response.json()["seed_count"] == 1


def test_seeds_match_by_normalised_name(api, served_model, seed_ids):
    messy = seed_ids[0].upper() + " (Remastered 2011)"
    exact = result_ids(post(api, "/recommendations/cold-start", {"seeds": [seed_ids[0]]}))
    assert result_ids(post(api, "/recommendations/cold-start", {"seeds": [messy]})) == exact


def test_only_unknown_seeds_is_a_404_listing_them(api, served_model):
    response = post(api, "/recommendations/cold-start", {"seeds": ["Nobody - Nothing", "No - One"]})
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "unknown_seeds"
    assert body["unknown"] == ["Nobody - Nothing", "No - One"]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"seeds": []},
        {"seeds": "A - B"},
        {"seeds": [f"A - {i}" for i in range(11)]},
        {"seeds": [1, 2, 3]},
        {"seeds": [None]},
        {"seeds": ["x" * 513]},
        {"seeds": ["A - B"], "limit": 0},
        {"seeds": ["A - B"], "limit": 51},
        {"seeds": ["A - B"], "limit": "many"},
    ],
)
def test_bad_cold_start_payloads_are_400(api, served_model, payload):
    response = post(api, "/recommendations/cold-start", payload)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_signed_in_users_first_seeds_are_stored_and_then_win(make_user, client_for, served_model, seed_ids):
    user = make_user()
    client = client_for(user)
    first = post(client, "/recommendations/cold-start", {"seeds": [*seed_ids[:3], "Nobody - Nothing"]})
    assert client.get("/me/seeds").json() == {"seeds": seed_ids[:3]}
    again = post(client, "/recommendations/cold-start", {"seeds": seed_ids[10:13]})
    assert result_ids(again) == result_ids(first)
    assert client.get("/me/seeds").json() == {"seeds": seed_ids[:3]}


def test_likes_shift_results_and_are_never_returned(make_user, client_for, served_model, seed_ids, taste_groups):
    user = make_user()
    client = client_for(user)
    payload = {"seeds": seed_ids[:3], "limit": 15}
    before = result_ids(post(client, "/recommendations/cold-start", payload))
    liked = [before[0], before[1], *taste_groups[1][:4]]
    for song_id in liked:
        like_toggle(user=user, song_id=song_id)
    after = result_ids(post(client, "/recommendations/cold-start", payload))
    assert after != before
    assert not set(after) & set(liked)


def test_a_liked_song_the_model_no_longer_knows_is_ignored(
    make_user, client_for, served_model, seed_ids, publish_songs
):
    publish_songs([("Gone Artist", "Retired Song", 1)], version="an-old-model")
    user = make_user()
    like_toggle(user=user, song_id="Gone Artist - Retired Song")
    client = client_for(user)
    assert client.get("/likes").json() == {"likes": ["Gone Artist - Retired Song"]}
    response = post(client, "/recommendations/cold-start", {"seeds": seed_ids[:3]})
    assert response.status_code == 200
    assert response.json()["seed_count"] == 3


# --- similar ----------------------------------------------------------------------------------


def test_similar_returns_neighbours_but_never_the_current_song(api, served_model, seed_ids):
    response = post(api, "/recommendations/similar", {"song": seed_ids[0], "limit": 12})
    ids = result_ids(response)
    assert len(ids) == 12
    assert seed_ids[0] not in ids
    assert response.json()["seed_count"] == 0
    assert_artist_cap(response.json()["results"])


def test_similar_with_a_seed_leans_toward_the_profile_and_skips_the_seed(api, served_model, taste_groups):
    group_a, group_b = taste_groups
    plain = result_ids(post(api, "/recommendations/similar", {"song": group_a[0], "limit": 10}))
    nudged = post(api, "/recommendations/similar", {"song": group_a[0], "seed": group_b[0], "limit": 10})
    assert nudged.json()["seed_count"] == 1
    assert group_b[0] not in result_ids(nudged)
    assert result_ids(nudged) != plain


def test_similar_unknown_song_or_seed_is_a_404(api, served_model, seed_ids):
    assert post(api, "/recommendations/similar", {"song": "Nobody - Nothing"}).json()["code"] == "unknown_song"
    response = post(api, "/recommendations/similar", {"song": seed_ids[0], "seed": "Nobody - Nothing"})
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_seed"


@pytest.mark.parametrize("payload", [{}, {"song": 5}, {"song": ""}, {"song": "A - B", "limit": 99}])
def test_bad_similar_payloads_are_400(api, served_model, payload):
    assert post(api, "/recommendations/similar", payload).status_code == 400


def test_similar_excludes_the_users_likes(make_user, client_for, served_model, seed_ids):
    user = make_user()
    client = client_for(user)
    before = result_ids(post(client, "/recommendations/similar", {"song": seed_ids[0], "limit": 10}))
    like_toggle(user=user, song_id=before[0])
    after = result_ids(post(client, "/recommendations/similar", {"song": seed_ids[0], "limit": 10}))
    assert before[0] not in after


# --- shelves ----------------------------------------------------------------------------------


def test_without_a_profile_there_is_one_for_you_shelf_of_popular_songs(api, served_model):
    response = api.get("/recommendations/categories", {"limit": 6})
    assert response.status_code == 200
    (shelf,) = response.json()["buckets"]
    assert shelf["label"] == "For you"
    assert shelf["seed_used"] is None
    assert len(shelf["items"]) == 6
    assert_artist_cap(shelf["items"])
    popularity = {item["song_id"]: item["popularity"] for item in served_model.items}
    shown = [popularity[item["song_id"]] for item in shelf["items"]]
    assert shown == sorted(shown, reverse=True)
    assert shown[0] == max(popularity.values())


def test_a_seed_gives_three_shelves_with_no_song_twice(api, served_model, seed_ids):
    response = api.get("/recommendations/categories", {"seed": seed_ids[0], "limit": 8})
    buckets = response.json()["buckets"]
    assert [b["label"] for b in buckets] == [
        f"Because you like {seed_ids[0]}",
        "More from your vibe",
        "Fresh mix",
    ]
    assert buckets[0]["seed_used"] == seed_ids[0]
    shown = [item["song_id"] for bucket in buckets for item in bucket["items"]]
    assert len(shown) == len(set(shown)) == 24
    assert seed_ids[0] not in shown
    for bucket in buckets:
        assert_artist_cap(bucket["items"])


def test_a_signed_in_users_profile_drives_the_shelves(make_user, client_for, served_model, seed_ids):
    user = make_user()
    client = client_for(user)
    post(client, "/recommendations/cold-start", {"seeds": seed_ids[:3]})
    like_toggle(user=user, song_id=seed_ids[20])
    buckets = client.get("/recommendations/categories").json()["buckets"]
    assert len(buckets) == 3
    assert buckets[0]["seed_used"] == seed_ids[20]  # the newest like anchors "Because you like"
    shown = {item["song_id"] for bucket in buckets for item in bucket["items"]}
    assert not shown & {*seed_ids[:3], seed_ids[20]}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 51}, {"limit": "x"}, {"seed": "s" * 513}])
def test_bad_category_params_are_400(api, served_model, params):
    assert api.get("/recommendations/categories", params).status_code == 400


def test_unknown_category_seed_is_a_404(api, served_model):
    assert api.get("/recommendations/categories", {"seed": "Nobody - Nothing"}).status_code == 404


# --- queries, readiness, health ----------------------------------------------------------------


def test_anonymous_recommendations_never_touch_the_database(api, served_model, seed_ids, django_assert_num_queries):
    with django_assert_num_queries(0):
        post(api, "/recommendations/cold-start", {"seeds": seed_ids[:3]})
        post(api, "/recommendations/similar", {"song": seed_ids[0]})
        api.get("/recommendations/categories", {"seed": seed_ids[0]})


def test_signed_in_recommendations_cost_a_bounded_number_of_queries(
    make_user, client_for, served_model, seed_ids, django_assert_max_num_queries
):
    user = make_user()
    for song_id in seed_ids[30:40]:
        like_toggle(user=user, song_id=song_id)
    client = client_for(user)
    with django_assert_max_num_queries(4):  # user, likes, store seeds once (update + read)
        post(client, "/recommendations/cold-start", {"seeds": seed_ids[:3]})
    with django_assert_max_num_queries(2):  # user, likes
        post(client, "/recommendations/similar", {"song": seed_ids[0]})
    with django_assert_max_num_queries(2):
        client.get("/recommendations/categories")


def test_health_reports_the_loaded_model(api, served_model):
    body = api.get("/health").json()
    assert body == {"status": "ok", "songs_indexed": len(served_model.items), "model_version": served_model.version}


def test_every_endpoint_is_503_before_a_model_is_published(api, settings, tmp_path, seed_ids):
    settings.ARTIFACTS_DIR = tmp_path / "empty"
    model_store.reset()
    responses = [
        api.get("/health"),
        post(api, "/recommendations/cold-start", {"seeds": ["A - B"]}),
        post(api, "/recommendations/similar", {"song": "A - B"}),
        api.get("/recommendations/categories"),
    ]
    for response in responses:
        assert response.status_code == 503
        assert response.json()["code"] == "model_not_ready"


def test_a_corrupt_model_is_refused_with_503_not_500(api, settings, tmp_path, corrupt_artifacts):
    settings.ARTIFACTS_DIR = corrupt_artifacts
    model_store.reset()
    response = post(api, "/recommendations/cold-start", {"seeds": ["A - B"]})
    assert response.status_code == 503
    assert response.json()["code"] == "model_not_ready"
    health = api.get("/health").json()
    assert health["status"] == "model_not_ready"
    assert "refused" in health["detail"]


def test_results_do_not_depend_on_the_process_hash_seed(served_model, seed_ids):
    """The original seeded randomness with hash(seed), which changes between processes."""
    script = (
        "import django, json; django.setup();"
        "from recommendations.services import cold_start_recommend, shelves_recommend;"
        f"recs, _ = cold_start_recommend(user=None, seeds={seed_ids[:3]!r}, limit=10);"
        f"shelves = shelves_recommend(user=None, seed={seed_ids[0]!r}, limit=5);"
        "print(json.dumps([[r.song_id for r in recs], [[r.song_id for r in s.items] for s in shelves]]))"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {
            **os.environ,
            "PYTHONHASHSEED": hash_seed,
            "ARTIFACTS_DIR": str(settings.ARTIFACTS_DIR),
            "DJANGO_SETTINGS_MODULE": "spotify_redux.test_settings",
        }
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            timeout=120,
            check=True,
        )
        outputs.add(done.stdout.strip().splitlines()[-1])
    assert len(outputs) == 1
    assert json.loads(outputs.pop())[0]
