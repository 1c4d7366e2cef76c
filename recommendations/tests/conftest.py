"""A small model trained once per test session on generated demo data, published per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from catalog.services import catalog_publish
from ml import artifacts
from ml.demo import _GENRES, make_demo_data
from ml.pipeline import TrainConfig, build_version_index, train_model
from ml.train import SVDParams
from recommendations.model_store import model_store

TEST_PARAMS = SVDParams(n_factors=32, n_epochs=20)


@pytest.fixture(scope="session")
def trained_root(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("model")
    demo = make_demo_data(work / "demo.csv", users=400, songs=600, seed=3)
    root = work / "artifacts"
    result = train_model(TrainConfig(data=demo.path, out=root, trials=0, params=TEST_PARAMS, seed=1))
    build_version_index(root, result.version)
    artifacts.set_current(root, result.version)
    return root


@pytest.fixture
def served_model(trained_root, settings, db):
    """The session's model, published: its songs in the catalog and the store pointed at it."""
    settings.ARTIFACTS_DIR = trained_root
    model_store.reset()
    loaded = artifacts.load_published(trained_root)
    catalog_publish(items=loaded.items, model_version=loaded.version)
    yield loaded
    model_store.reset()


@pytest.fixture
def seed_ids(served_model) -> list[str]:
    """Catalog songs, most popular first (a realistic onboarding pick list)."""
    ranked = sorted(served_model.items, key=lambda item: (-item["popularity"], item["song_id"]))
    return [item["song_id"] for item in ranked]


def _genre_of(artist: str) -> str | None:
    """The demo genre an artist name was drawn from (names are built from per-genre word lists)."""
    last_word = artist.split()[-1]
    matches = [genre for genre, (_, seconds, _) in _GENRES.items() if last_word in seconds]
    return matches[0] if len(matches) == 1 else None


@pytest.fixture
def taste_groups(seed_ids, served_model) -> tuple[list[str], list[str]]:
    """Songs of two different demo genres, most popular first."""
    artist_of = {item["song_id"]: item["artist"] for item in served_model.items}
    by_genre: dict[str, list[str]] = {}
    for song_id in seed_ids:
        genre = _genre_of(artist_of[song_id])
        if genre:
            by_genre.setdefault(genre, []).append(song_id)
    big = sorted(by_genre.values(), key=len, reverse=True)
    return big[0], big[1]


@pytest.fixture
def corrupt_artifacts(trained_root, tmp_path) -> Path:
    """A published copy of the model whose factor file was changed after the manifest was written."""
    version = artifacts.current_version(trained_root)
    root = tmp_path / "corrupt"
    shutil.copytree(trained_root / "versions" / version, root / "versions" / version)
    artifacts.set_current(root, version)
    factors = root / "versions" / version / "item_factors.npy"
    data = bytearray(factors.read_bytes())
    data[-1] ^= 0xFF
    factors.write_bytes(bytes(data))
    return root
