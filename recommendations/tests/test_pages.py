"""The web pages' server side: where each user lands, what home shows, the staff model page."""

from __future__ import annotations

import re

import pytest

from accounts.services import user_seeds_store_once
from likes.services import like_toggle


@pytest.fixture
def listener(make_user, client):
    user = make_user("listener")
    client.force_login(user)
    return user


def _song_ids(html: str, list_class: str) -> list[str]:
    """data-song-id of the rows inside the <ul>s with this class, in page order."""
    ids = []
    for block in re.findall(rf'<ul[^>]*class="[^"]*{list_class}[^"]*"[^>]*>(.*?)</ul>', html, flags=re.S):
        ids += re.findall(r'data-song-id="([^"]*)"', block)
    return [i.replace("&amp;", "&").replace("&#x27;", "'").replace("&quot;", '"') for i in ids]


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    assert client.get("/")["Location"] == "/login?next=/"
    assert client.get("/welcome")["Location"] == "/login?next=/welcome"


def test_a_new_user_onboards_and_a_returning_user_lands_on_home(client, listener, served_model, seed_ids):
    assert client.get("/")["Location"] == "/welcome"
    page = client.get("/welcome").content.decode()
    assert '<label for="search-input">' in page
    assert 'aria-live="polite"' in page
    user_seeds_store_once(user=listener, song_ids=seed_ids[:3])
    assert client.get("/welcome")["Location"] == "/"
    assert client.get("/").status_code == 200


def test_home_shows_shelves_and_likes_newest_first_without_the_liked_songs(client, listener, served_model, seed_ids):
    user_seeds_store_once(user=listener, song_ids=seed_ids[:3])
    first_page = client.get("/").content.decode()
    recommended = _song_ids(first_page, "recommendations")
    assert len(recommended) == 3 * 8  # three shelves of SHELF_SONGS
    older, newer = recommended[0], recommended[9]
    like_toggle(user=listener, song_id=older)
    like_toggle(user=listener, song_id=newer)
    page = client.get("/").content.decode()
    likes_block = page[page.index('id="likes-list"') :]
    assert re.findall(r'data-song-id="([^"]*)"', likes_block)[:2] == [newer, older]
    assert 'aria-pressed="true"' in likes_block
    assert {older, newer}.isdisjoint(_song_ids(page, "recommendations"))
    assert "Because you like" in page


def test_home_says_in_words_when_no_model_is_published(client, listener, settings, tmp_path, db):
    from recommendations.model_store import model_store

    settings.ARTIFACTS_DIR = tmp_path / "none"
    model_store.reset()
    user_seeds_store_once(user=listener, song_ids=["A - a"])
    response = client.get("/")
    assert response.status_code == 503
    page = response.content.decode()
    assert "Recommendations are unavailable right now: The recommendation model is not ready." in page
