"""The web pages' server side: where each user lands, what home shows, the staff model page."""

from __future__ import annotations

import re

import pytest

from accounts.services import user_seeds_store_once
from likes.services import like_toggle
from recommendations.model_report import bar_chart, metric_tables


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
    assert client.get("/model")["Location"] == "/login?next=/model"


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


def test_model_page_is_for_staff(client, listener, served_model):
    forbidden = client.get("/model")
    assert forbidden.status_code == 403
    assert "This page is for staff" in forbidden.content.decode()
    listener.is_staff = True
    listener.save()
    page = client.get("/model").content.decode()
    assert served_model.version in page
    assert served_model.manifest["created_at"] in page
    for methods in served_model.manifest["metrics"]["test"]["results"].values():  # one table per protocol
        for method, metrics in methods.items():
            assert f'<th scope="row">{method}</th>' in page
            shown = "recall@50" if method.endswith("no artist cap") else "hit_rate@10"  # that row has no other
            assert f"{metrics[shown]:.4f}" in page
    assert '<svg viewBox="0 0' in page
    assert 'role="img"' in page


TODAY = {
    "protocol": {"k": 10, "query": "5 seeds per test user"},
    "test": {"svd": {"hit_rate@10": 0.8, "rmse": 1.3, "seconds": 2.0}, "popularity": {"hit_rate@10": 0.6, "rmse": 1.1}},
}
PER_PROTOCOL = {
    "cold_start": {"svd": {"hit_rate@10": 0.8, "ndcg@10": 0.4}, "item_knn": {"hit_rate@10": 0.7, "ndcg@10": 0.3}},
    "next_song": {"svd": {"hit_rate@10": 0.5}, "graph": {"hit_rate@10": 0.55, "mrr@10": 0.2}},
    "notes": {"next_song": "predict the held-out last song from the ones before it"},
}


def test_metric_tables_read_todays_layout_with_its_protocol_as_notes():
    (table,) = metric_tables(TODAY)
    assert table.title == "test"
    assert table.columns == ["hit_rate@10", "rmse", "seconds"]
    assert table.rows == [("svd", [0.8, 1.3, 2.0]), ("popularity", [0.6, 1.1, None])]
    assert ("protocol k", "10") in table.notes
    chart = bar_chart(table)
    assert [group.label for group in chart.groups] == ["hit_rate@10"]  # rmse and timings are not in [0, 1]
    assert [bar.width for bar in chart.groups[0].bars] == [0.8 * chart.plot_w, 0.6 * chart.plot_w]


def test_metric_tables_read_a_per_protocol_layout_without_knowing_its_names():
    tables = metric_tables(PER_PROTOCOL)
    assert [t.title for t in tables] == ["cold_start", "next_song"]
    assert tables[1].columns == ["hit_rate@10", "mrr@10"]
    assert tables[1].rows == [("svd", [0.5, None]), ("graph", [0.55, 0.2])]
    assert [group.label for group in bar_chart(tables[1]).groups] == ["hit_rate@10", "mrr@10"]
    assert metric_tables({}) == []
    assert metric_tables("not a dict") == []


def test_songs_show_their_cached_cover_or_a_placeholder(client, listener, served_model, seed_ids):
    from catalog.covers import cover_cache_key
    from catalog.covers.store import cache_store

    user_seeds_store_once(user=listener, song_ids=seed_ids[:3])
    shown = _song_ids(client.get("/").content.decode(), "recommendations")[0]
    first = served_model.items[served_model.song_ids.index(shown)]
    cache_store(cover_cache_key(first["artist"], first["title"]), "https://covers.example/1.jpg", complete=True)
    page = client.get("/").content.decode()
    assert '<img class="cover" src="https://covers.example/1.jpg" alt=""' in page
    assert '<span class="cover placeholder" aria-hidden="true">' in page
