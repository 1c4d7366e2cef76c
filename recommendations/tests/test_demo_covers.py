"""`make run`'s demo model asks no public service for covers: its songs are made up.

ensure_model marks the model it trains on the synthetic demo data; the model store, loading a
marked model, turns cover look-ups off for it. A model trained on real data keeps them.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.covers import cached_cover_urls, cover_lookup, cover_worker_shutdown
from catalog.tests.fake_covers import FakeCoverServer
from ml import artifacts
from ml.demo import make_demo_data
from recommendations.model_store import SYNTHETIC_DATA_KEY, model_store


@pytest.fixture
def fake_covers(settings):
    server = FakeCoverServer().start()
    settings.COVERS_ENABLED = True
    for name, url in server.settings().items():
        setattr(settings, name, url)
    settings.COVER_MUSICBRAINZ_INTERVAL_S = 0
    yield server
    cover_worker_shutdown(timeout=5)
    server.stop()


def _demo_song(root: Path) -> tuple[str, str]:
    items = artifacts.load_items(artifacts.version_dir(root, artifacts.current_version(root)))
    return items[0]["artist"], items[0]["title"]


def test_the_demo_model_sends_no_cover_look_ups(fake_covers, settings, tmp_path, db):
    demo = make_demo_data(tmp_path / "demo.csv", users=150, songs=200, seed=5).path
    root = tmp_path / "artifacts"
    call_command("ensure_model", "--artifacts", str(root), "--demo-data", str(demo), stdout=StringIO())
    version_dir = artifacts.version_dir(root, artifacts.current_version(root))
    assert json.loads((version_dir / "manifest.json").read_text())[SYNTHETIC_DATA_KEY] is True
    # A demo model published before the mark existed gets it the next time `make run` starts.
    artifacts.update_version(version_dir, {}, {SYNTHETIC_DATA_KEY: False})
    call_command("ensure_model", "--artifacts", str(root), "--demo-data", str(demo), stdout=StringIO())
    assert json.loads((version_dir / "manifest.json").read_text())[SYNTHETIC_DATA_KEY] is True

    settings.ARTIFACTS_DIR = root
    model_store.reset()
    model_store.get()
    try:
        artist, title = _demo_song(root)
        fake_covers.add_song(artist, title)  # even if a service answered, nobody should ask it
        assert cover_lookup(artist=artist, track=title) is None
        assert cached_cover_urls([(artist, title)]) == {(artist, title): None}
        cover_worker_shutdown(timeout=5)  # anything queued has run
        assert fake_covers.hits() == 0
    finally:
        model_store.reset()


def test_a_model_trained_on_real_data_still_looks_covers_up(fake_covers, settings, trained_root, db):
    settings.ARTIFACTS_DIR = trained_root  # trained by train_model, not marked synthetic
    model_store.reset()
    model_store.get()
    try:
        fake_covers.add_song("Queen", "Bohemian Rhapsody")
        assert cover_lookup(artist="Queen", track="Bohemian Rhapsody") is not None
        assert fake_covers.hits() > 0
    finally:
        model_store.reset()
