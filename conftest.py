"""Fixtures shared by every app's tests: real database, real cache, real HTTP via the test client."""

from __future__ import annotations

import itertools

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import access_token_issue, user_create
from catalog.services import catalog_publish

_usernames = itertools.count(1)
DEFAULT_PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _clean_cache():
    """Each test starts with an empty cache (throttle counters, covers) on locmem and Redis alike."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db):
    def make(username: str | None = None, password: str = DEFAULT_PASSWORD):
        return user_create(username=username or f"listener{next(_usernames)}", password=password)

    return make


@pytest.fixture
def client_for():
    """An API client that sends the given user's bearer token."""

    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_issue(user=user)['access_token']}")
        return client

    return make


@pytest.fixture
def publish_songs(db):
    """Publish catalog songs the way build_index does; items are (artist, title, popularity)."""

    def publish(items, version: str = "test-v1"):
        catalog_publish(
            items=[
                {"song_id": f"{artist} - {title}", "artist": artist, "title": title, "popularity": popularity}
                for artist, title, popularity in items
            ],
            model_version=version,
        )

    return publish
