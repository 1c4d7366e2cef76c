"""Likes: toggle and list, through HTTP; the toggle stays correct under concurrent requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from likes.models import Like

SONGS = [("Artist A", "One", 5), ("Artist B", "Two", 4), ("Artist C", "Three (Live)", 3)]


@pytest.fixture
def catalog(publish_songs):
    publish_songs(SONGS)


@pytest.mark.django_db
def test_toggle_likes_then_unlikes(make_user, client_for, catalog):
    client = client_for(make_user())
    assert client.post("/likes/toggle", {"song_id": "Artist A - One"}, format="json").json() == {"liked": True}
    assert client.get("/likes").json() == {"likes": ["Artist A - One"]}
    assert client.post("/likes/toggle", {"song_id": "Artist A - One"}, format="json").json() == {"liked": False}
    assert client.get("/likes").json() == {"likes": []}


@pytest.mark.django_db
def test_likes_are_listed_newest_first(make_user, client_for, catalog):
    client = client_for(make_user())
    for song_id in ("Artist B - Two", "Artist A - One", "Artist C - Three (Live)"):
        client.post("/likes/toggle", {"song_id": song_id}, format="json")
    assert client.get("/likes").json()["likes"] == ["Artist C - Three (Live)", "Artist A - One", "Artist B - Two"]


@pytest.mark.django_db
def test_a_song_is_found_by_its_normalised_name(make_user, client_for, catalog):
    client = client_for(make_user())
    assert client.post("/likes/toggle", {"song_id": "artist c - THREE"}, format="json").json() == {"liked": True}
    assert client.get("/likes").json() == {"likes": ["Artist C - Three (Live)"]}


@pytest.mark.django_db
def test_unknown_song_is_a_404_and_stores_nothing(make_user, client_for, catalog):
    client = client_for(make_user())
    response = client.post("/likes/toggle", {"song_id": "Nobody - Nothing"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_song"
    assert not Like.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [{}, {"song_id": ""}, {"song_id": 12}, {"song_id": ["x"]}, {"song_id": "x" * 513}])
def test_bad_payloads_are_400(make_user, client_for, catalog, payload):
    response = client_for(make_user()).post("/likes/toggle", payload, format="json")
    assert response.status_code == 400
    assert "song_id" in response.json()["errors"]


@pytest.mark.django_db
def test_likes_need_a_token(api, catalog):
    assert api.get("/likes").status_code == 401
    assert api.post("/likes/toggle", {"song_id": "Artist A - One"}, format="json").status_code == 401


@pytest.mark.django_db
def test_a_like_survives_a_retrain_that_drops_the_song(make_user, client_for, catalog, publish_songs):
    client = client_for(make_user())
    client.post("/likes/toggle", {"song_id": "Artist A - One"}, format="json")
    publish_songs(SONGS[1:], version="test-v2")
    assert client.get("/likes").json() == {"likes": ["Artist A - One"]}
    # It can no longer be liked by anyone new, but its like can still be removed.
    other = client_for(make_user())
    assert other.post("/likes/toggle", {"song_id": "Artist A - One"}, format="json").status_code == 404
    assert client.post("/likes/toggle", {"song_id": "Artist A - One"}, format="json").json() == {"liked": False}


@pytest.mark.django_db
def test_listing_likes_costs_constant_queries(make_user, client_for, catalog, django_assert_num_queries):
    user = make_user()
    client = client_for(user)
    for artist, title, _ in SONGS:
        client.post("/likes/toggle", {"song_id": f"{artist} - {title}"}, format="json")
    with django_assert_num_queries(2):  # the token's user, then the likes with their songs
        assert len(client.get("/likes").json()["likes"]) == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("toggles", [20, 21])
def test_concurrent_toggles_end_in_the_state_their_parity_says(make_user, client_for, publish_songs, toggles):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent writers: runs against PostgreSQL (the CI's second run)")
    publish_songs(SONGS)
    user = make_user()

    def toggle(_):
        try:
            return client_for(user).post("/likes/toggle", {"song_id": "Artist A - One"}, format="json").status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=toggles) as pool:
        statuses = list(pool.map(toggle, range(toggles)))
    assert statuses == [200] * toggles
    assert Like.objects.filter(user=user).count() == toggles % 2
