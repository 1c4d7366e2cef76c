"""`manage.py models` and `manage.py publish VERSION`: list kept versions, roll back and forward
with the catalog following, and refuse a version that a server would refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from catalog.models import Song
from ml import artifacts
from recommendations.tests.test_commands_ml import FAST, run, scrobbles


@pytest.fixture
def root(settings, tmp_path: Path) -> Path:
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    return settings.ARTIFACTS_DIR


@pytest.fixture
def two_versions(root: Path, tmp_path: Path) -> tuple[str, str]:
    """v1 knows "Band 0 - Song 0"; v2 drops it and adds "New Band - New Song"; v2 is current."""
    songs = [f"Band {i} - Song {i}" for i in range(12)]
    run("train", "--data", str(scrobbles(tmp_path / "a.csv", songs)), "--trials", "0", *FAST)
    run("build_index")
    first = artifacts.current_version(root)
    kept = [*songs[1:], "New Band - New Song"]
    run("train", "--data", str(scrobbles(tmp_path / "b.csv", kept)), "--trials", "0", "--seed", "1", *FAST)
    run("build_index")
    second = artifacts.current_version(root)
    assert first != second
    return first, second


def available(song_id: str) -> bool:
    return Song.objects.get(song_id=song_id).is_available


@pytest.mark.django_db
def test_models_lists_versions_with_current_marked(two_versions) -> None:
    first, second = two_versions
    lines = run("models").splitlines()
    assert "HR@10" in lines[0]
    row_of = {line[2:].split()[0]: line for line in lines[1:-1]}
    assert row_of[second].startswith("* ")
    assert row_of[first].startswith("  ")
    assert " flat " in row_of[first]
    listed = json.loads(run("models", "--json"))
    assert [(v["version"], v["is_current"]) for v in listed] == [(first, False), (second, True)]
    assert all(v["songs"] == 12 and v["data_rows"] == 180 and v["size_bytes"] > 0 for v in listed)
    for v in listed:
        assert 0.0 <= v["metrics"]["hit_rate@10"] <= 1.0
        assert 0.0 <= v["metrics"]["next_song_hit_rate@10"] <= 1.0


@pytest.mark.django_db
def test_publish_rolls_back_and_forward_with_the_catalog(root: Path, two_versions) -> None:
    first, second = two_versions
    output = run("publish", first)
    assert f"Published {first} (was {second})" in output
    assert artifacts.current_version(root) == first
    assert artifacts.load_published(root).version == first
    assert available("Band 0 - Song 0")
    assert not available("New Band - New Song")

    run("publish", second)
    assert artifacts.current_version(root) == second
    assert not available("Band 0 - Song 0")
    assert available("New Band - New Song")


@pytest.mark.django_db
def test_publish_dry_run_changes_nothing(root: Path, two_versions) -> None:
    first, second = two_versions
    assert "Dry run" in run("publish", first, "--dry-run")
    assert artifacts.current_version(root) == second
    assert available("New Band - New Song")


@pytest.mark.django_db
def test_publish_refuses_unknown_changed_or_unindexed_versions(root: Path, two_versions, tmp_path: Path) -> None:
    first, second = two_versions
    with pytest.raises(CommandError, match="No complete version 'nope'"):
        run("publish", "nope")

    factors = artifacts.version_dir(root, first) / artifacts.FACTORS_FILE
    data = bytearray(factors.read_bytes())
    data[-1] ^= 0xFF
    factors.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="does not match its sha256"):
        run("publish", first)

    data_c = scrobbles(tmp_path / "c.csv", [f"Other {i} - Tune {i}" for i in range(10)])
    run("train", "--data", str(data_c), "--trials", "0", *FAST)
    unindexed = artifacts.latest_version(root)
    with pytest.raises(CommandError, match="has no index yet"):
        run("publish", unindexed)

    assert artifacts.current_version(root) == second
    assert available("New Band - New Song")
    assert not available("Band 0 - Song 0")
