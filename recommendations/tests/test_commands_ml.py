"""The ML management commands end to end: make_demo_data -> train -> build_index -> evaluate,
publishing to the catalog without losing likes, and clear errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Song
from likes.models import Like
from ml import artifacts

FAST = ["--factors", "16", "--epochs", "8", "--no-progress"]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def root(settings, tmp_path: Path) -> Path:
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    return settings.ARTIFACTS_DIR


def scrobbles(path: Path, songs: list[str], users: int = 30) -> Path:
    """Every user plays a sliding window of 6 songs, so songs co-occur and each has several listeners."""
    lines = ["Username,Artist,Track"]
    for user in range(users):
        for offset in range(6):
            artist, title = songs[(user + offset) % len(songs)].split(" - ", 1)
            lines.append(f"user{user},{artist},{title}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.django_db
def test_demo_train_build_index_evaluate(root: Path, tmp_path: Path) -> None:
    demo = tmp_path / "demo.csv"
    assert "listeners" in run("make_demo_data", str(demo), "--users", "150", "--songs", "250", "--seed", "1")

    output = run("train", "--data", str(demo), "--trials", "2", *FAST)
    assert "Search: 2 trials" in output
    assert "item_knn" in output
    assert "popularity" in output
    version = artifacts.latest_version(root)
    assert version is not None
    assert f"Wrote version {version}" in output

    output = run("build_index")
    assert "Built flat index" in output
    manifest = artifacts.read_manifest(artifacts.version_dir(root, version))
    assert manifest["index"]["kind"] == "flat"
    assert f"Catalog: {manifest['counts']['items']} created, 0 updated, 0 retired" in output
    assert os.readlink(root / "current") == f"versions/{version}"
    model = artifacts.load_published(root)
    assert Song.objects.filter(is_available=True).count() == len(model.items)
    assert Song.objects.get(song_id=model.song_ids[0]).popularity == model.items[0]["popularity"]

    output = run("evaluate")
    assert "JSON" not in output  # the table only, unless asked for JSON
    for protocol, metrics in (("next_song", ("mrr@10", "ndcg@10")), ("all_remaining", ("recall@50", "coverage@10"))):
        assert f"{protocol} (" in output
        assert all(metric in output for metric in ("hit_rate@10", *metrics))
    for method in ("popularity", "item_knn", "rp3beta", "ease", "svd raw", "graph served", "blend served"):
        assert method in output
    assert "vs item-kNN" in output

    output = run("evaluate", "--json", str(tmp_path / "report.json"))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["version"] == version
    assert set(report["report"]["results"]) == {"next_song", "all_remaining"}
    baselines = {"svd", "item_knn", "popularity", "rp3beta", "ease"}
    assert baselines <= set(report["report"]["results"]["next_song"])
    assert f"{report['report']['product']} served" in report["report"]["results"]["all_remaining"]
    assert "JSON:" not in output
    printed = json.loads(run("evaluate", "--json").split("JSON:\n", 1)[1])

    def without_timings(results: dict) -> dict:
        return {
            protocol: {method: {k: v for k, v in m.items() if k != "seconds"} for method, m in methods.items()}
            for protocol, methods in results.items()
        }

    assert without_timings(printed["report"]["results"]) == without_timings(report["report"]["results"])


@pytest.mark.django_db
def test_retrain_retires_songs_but_keeps_likes(root: Path, tmp_path: Path, make_user) -> None:
    songs = [f"Band {i} - Song {i}" for i in range(12)]
    run("train", "--data", str(scrobbles(tmp_path / "a.csv", songs)), "--trials", "0", *FAST)
    run("build_index")
    user = make_user()
    gone = Song.objects.get(song_id="Band 0 - Song 0")
    Like.objects.create(user=user, song=gone)
    first = artifacts.current_version(root)

    kept = [*songs[1:], "New Band - New Song"]
    run("train", "--data", str(scrobbles(tmp_path / "b.csv", kept)), "--trials", "0", "--seed", "1", *FAST)
    output = run("build_index")
    assert "1 created, 11 updated, 1 retired" in output
    gone.refresh_from_db()
    assert gone.is_available is False
    assert Like.objects.filter(user=user, song=gone).exists()
    assert artifacts.current_version(root) != first
    assert "Band 0 - Song 0" not in artifacts.load_published(root).song_ids


@pytest.mark.django_db
def test_build_index_prunes_old_versions(root: Path, tmp_path: Path) -> None:
    data = scrobbles(tmp_path / "a.csv", [f"Band {i} - Song {i}" for i in range(10)])
    for seed in ("1", "2", "3"):
        run("train", "--data", str(data), "--trials", "0", "--seed", seed, *FAST)
    output = run("build_index", "--keep", "1")
    assert "Pruned 2 old version(s)" in output
    assert artifacts.list_versions(root) == [artifacts.current_version(root)]


def test_train_bad_inputs_are_command_errors(root: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"missing\.csv does not exist"):
        run("train", "--data", str(tmp_path / "missing.csv"))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CommandError, match=r"empty\.csv is empty"):
        run("train", "--data", str(empty), "--format", "lastfm")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Username,Artist,Track\nu,Beyoncé,Halo\n".encode("latin-1"))
    with pytest.raises(CommandError, match=r"latin\.csv is not valid UTF-8"):
        run("train", "--data", str(latin), "--format", "lastfm")
    columns = tmp_path / "columns.csv"
    columns.write_text("Username,Artist\nu,a\n")
    with pytest.raises(CommandError, match=r"missing required column\(s\) Track"):
        run("train", "--data", str(columns), "--format", "lastfm")
    with pytest.raises(CommandError, match="must be 0 or more"):
        run("train", "--data", str(columns), "--trials", "-1")
    people = tmp_path / "people.csv"
    people.write_text("name,city,age\nalice,Paris,34\nbob,Oslo,41\n")
    with pytest.raises(CommandError, match=r"people\.csv has the header 'name,city,age', which is not a known"):
        run("train", "--data", str(people), *FAST)
    assert artifacts.list_versions(root) == []


@pytest.mark.django_db  # build_index checks the catalog table exists before anything else
def test_evaluate_and_build_index_without_a_model(root: Path) -> None:
    with pytest.raises(CommandError, match="No trained model"):
        run("evaluate")
    with pytest.raises(CommandError, match="No trained model"):
        run("build_index")
    with pytest.raises(CommandError, match="Version nope does not exist"):
        run("evaluate", "--model-version", "nope")


def test_make_demo_data_rejects_a_directory(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is a directory"):
        run("make_demo_data", str(tmp_path))


@pytest.mark.parametrize("command", [["build_index"], ["publish", "20240101T000000000Z-aaaaaaaa"]])
def test_publishing_into_a_database_never_migrated_says_to_migrate_instead_of_a_traceback(tmp_path, command):
    root_dir = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="spotify_redux.settings", MODEL_PRELOAD="0")
    done = subprocess.run(
        [sys.executable, "manage.py", *command], cwd=root_dir, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "has no catalog table yet: run `manage.py migrate` first" in done.stderr
    assert "Traceback" not in done.stderr
