"""Artifacts: written atomically, verified on load, tampering and mismatches refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from ml import artifacts
from ml.errors import ArtifactError
from ml.graph import build_item_graph
from ml.index import build_index, write_index
from ml.ranker import BlendScorer, LightGBMScorer, TrainingRows, train_lightgbm
from ml.recommend import serving_vectors


def small_graph_arrays(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    plays = sp.csr_matrix((rng.random((40, n)) < 0.2).astype(np.float32))
    return build_item_graph(plays).to_arrays()


def save_npz(arrays: dict[str, np.ndarray]):
    def write(path: Path) -> None:
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    return write


def make_version(
    root: Path, version: str, *, n: int = 30, dims: int = 8, with_index: bool = True, ranker_text: str | None = None
) -> Path:
    rng = np.random.default_rng(0)
    factors = rng.normal(size=(n, dims)).astype(np.float32)
    items = [{"song_id": f"A{i} - T{i}", "artist": f"A{i}", "title": f"T{i}", "popularity": n - i} for i in range(n)]

    def save_factors(path: Path) -> None:
        np.save(path, factors, allow_pickle=False)

    def save_items(path: Path) -> None:
        path.write_text(json.dumps(items))

    manifest = {
        "dims": dims,
        "counts": {"items": n, "users": 5, "interactions": 50},
        "params": {},
        "metrics": {},
        "scorer": {"kind": "blend", "weights": {"rp3_z": 1.0, "svd_z": 0.5}},
    }
    writers = {
        artifacts.FACTORS_FILE: save_factors,
        artifacts.ITEMS_FILE: save_items,
        artifacts.GRAPH_FILE: save_npz(small_graph_arrays(n)),
    }
    if ranker_text is not None:
        writers[artifacts.RANKER_FILE] = lambda path: path.write_text(ranker_text, encoding="utf-8")
        manifest["scorer"] = {"kind": "lightgbm", "file": artifacts.RANKER_FILE}
    path = artifacts.write_version(root, version, writers, manifest)
    if with_index:
        index, info = build_index(serving_vectors(factors), kind="flat")
        info["file"] = artifacts.INDEX_FILE
        artifacts.update_version(path, {artifacts.INDEX_FILE: lambda tmp: write_index(index, tmp)}, {"index": info})
    return path


@pytest.fixture
def published(tmp_path: Path) -> Path:
    make_version(tmp_path, "20240101T000000Z-aaaaaaaa")
    artifacts.set_current(tmp_path, "20240101T000000Z-aaaaaaaa")
    return tmp_path


def test_load_published(published: Path) -> None:
    model = artifacts.load_published(published)
    assert model.version == "20240101T000000Z-aaaaaaaa"
    assert model.vectors.shape == (30, 8)
    assert model.vectors.flags["C_CONTIGUOUS"]
    assert np.linalg.norm(model.vectors, axis=1) == pytest.approx(np.ones(30), abs=1e-5)
    assert model.index.ntotal == 30
    assert model.song_ids[3] == "A3 - T3"
    assert model.popularity[0] == 30
    manifest = model.manifest
    assert manifest["format_version"] == artifacts.FORMAT_VERSION
    assert set(manifest["files"]) == {"item_factors.npy", "items.json", "item_graph.npz", "index.faiss"}
    assert model.graph.n_items == 30
    assert model.graph.nnz > 0
    assert isinstance(model.scorer, BlendScorer)
    assert manifest["index"]["kind"] == "flat"
    _, found = model.index.search(model.vectors[:1], 1)
    assert found[0, 0] == 0
    # Nothing owner-only: the server may run as another user.
    assert os.stat(model.path).st_mode & 0o055 == 0o055
    assert os.stat(model.path / "item_factors.npy").st_mode & 0o044 == 0o044


def test_nothing_published(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="No model is published"):
        artifacts.load_published(tmp_path)


def test_tampered_file_is_refused(published: Path) -> None:
    path = artifacts.version_dir(published, "20240101T000000Z-aaaaaaaa")
    factors = np.load(path / "item_factors.npy")
    factors[0, 0] += 1.0
    np.save(path / "item_factors.npy", factors)  # same size, different bytes
    with pytest.raises(ArtifactError, match=r"item_factors\.npy does not match its sha256"):
        artifacts.load_published(published)


def test_tampered_item_graph_is_refused(published: Path) -> None:
    path = artifacts.version_dir(published, "20240101T000000Z-aaaaaaaa") / artifacts.GRAPH_FILE
    arrays = dict(np.load(path))
    arrays["rp3"] = arrays["rp3"] * 2  # same shapes and size, other weights
    save_npz(arrays)(path)
    with pytest.raises(ArtifactError, match=r"item_graph\.npz does not match its sha256"):
        artifacts.load_published(published)


def test_item_graph_of_another_catalog_is_refused(published: Path) -> None:
    path = artifacts.version_dir(published, "20240101T000000Z-aaaaaaaa") / artifacts.GRAPH_FILE
    save_npz(small_graph_arrays(31))(path)
    rewrite_manifest(
        published,
        "20240101T000000Z-aaaaaaaa",
        lambda m: m["files"].update({artifacts.GRAPH_FILE: artifacts.file_digest(path)}),
    )
    with pytest.raises(ArtifactError, match=r"item_graph\.npz is not a valid item graph for 30 songs"):
        artifacts.load_published(published)


def tiny_ranker_text() -> str:
    rng = np.random.default_rng(0)
    from ml.candidates import FEATURES

    features = rng.normal(size=(400, len(FEATURES))).astype(np.float32)
    labels = (features[:, 0] > 0.5).astype(np.int8)
    rows = TrainingRows(features, labels, np.repeat(np.arange(20), 20), np.full(20, 5))
    return train_lightgbm(rows).to_text()


def test_lightgbm_ranker_loads_from_its_text_file_and_tampering_is_refused(tmp_path: Path) -> None:
    text = tiny_ranker_text()
    make_version(tmp_path, "20240101T000000Z-ffffffff", ranker_text=text)
    artifacts.set_current(tmp_path, "20240101T000000Z-ffffffff")
    model = artifacts.load_published(tmp_path)
    assert isinstance(model.scorer, LightGBMScorer)
    assert model.scorer.to_text() == text
    path = artifacts.version_dir(tmp_path, "20240101T000000Z-ffffffff") / artifacts.RANKER_FILE
    path.write_text(text.replace("learning_rate", "learning_ratf", 1), encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"ranker\.txt does not match its sha256"):
        artifacts.load_published(tmp_path)


def test_ranker_that_is_not_a_lightgbm_model_is_refused(tmp_path: Path) -> None:
    make_version(tmp_path, "20240101T000000Z-gggggggg", ranker_text="not a model\n")
    artifacts.set_current(tmp_path, "20240101T000000Z-gggggggg")
    with pytest.raises(ArtifactError, match=r"ranker\.txt is not a usable LightGBM model"):
        artifacts.load_published(tmp_path)


def test_truncated_file_is_refused(published: Path) -> None:
    path = artifacts.version_dir(published, "20240101T000000Z-aaaaaaaa") / "items.json"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ArtifactError, match=r"items\.json is \d+ bytes but the manifest says"):
        artifacts.load_published(published)


def test_missing_file_is_refused(published: Path) -> None:
    (artifacts.version_dir(published, "20240101T000000Z-aaaaaaaa") / "index.faiss").unlink()
    with pytest.raises(ArtifactError, match=r"index\.faiss is listed in the manifest but does not exist"):
        artifacts.load_published(published)


def rewrite_manifest(root: Path, version: str, change) -> None:
    path = artifacts.version_dir(root, version) / artifacts.MANIFEST_FILE
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def test_mismatched_dims_are_refused(published: Path) -> None:
    rewrite_manifest(published, "20240101T000000Z-aaaaaaaa", lambda m: m.update(dims=16))
    with pytest.raises(ArtifactError, match=r"item_factors\.npy has 8 dims but the manifest says 16"):
        artifacts.load_published(published)


def test_index_of_other_vectors_is_refused(tmp_path: Path) -> None:
    path = make_version(tmp_path, "20240101T000000Z-bbbbbbbb", with_index=False)
    other, info = build_index(serving_vectors(np.random.default_rng(9).normal(size=(30, 8))), kind="flat")
    info["file"] = artifacts.INDEX_FILE
    artifacts.update_version(path, {artifacts.INDEX_FILE: lambda tmp: write_index(other, tmp)}, {"index": info})
    artifacts.set_current(tmp_path, "20240101T000000Z-bbbbbbbb")
    with pytest.raises(ArtifactError, match="does not hold the serving vectors"):
        artifacts.load_published(tmp_path)


def test_float16_ivf_index_of_these_vectors_loads_and_of_other_vectors_is_refused(tmp_path: Path) -> None:
    own = serving_vectors(np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32))  # make_version's
    other = serving_vectors(np.random.default_rng(9).normal(size=(30, 8)))
    for version, vectors in (("20240101T000000Z-dddddddd", own), ("20240101T000000Z-eeeeeeee", other)):
        path = make_version(tmp_path, version, with_index=False)
        index, info = build_index(vectors, kind="ivf")
        info["file"] = artifacts.INDEX_FILE
        artifacts.update_version(
            path, {artifacts.INDEX_FILE: lambda tmp, i=index: write_index(i, tmp)}, {"index": info}
        )
    assert info["codes"] == "fp16"
    artifacts.set_current(tmp_path, "20240101T000000Z-dddddddd")
    assert artifacts.load_published(tmp_path).index.ntotal == 30  # fp16 codes pass the spot-check
    artifacts.set_current(tmp_path, "20240101T000000Z-eeeeeeee")
    with pytest.raises(ArtifactError, match="does not hold the serving vectors"):
        artifacts.load_published(tmp_path)


def test_index_with_other_size_is_refused(tmp_path: Path) -> None:
    path = make_version(tmp_path, "20240101T000000Z-cccccccc", with_index=False)
    other, info = build_index(serving_vectors(np.ones((31, 8))), kind="flat")
    info["file"] = artifacts.INDEX_FILE
    artifacts.update_version(path, {artifacts.INDEX_FILE: lambda tmp: write_index(other, tmp)}, {"index": info})
    artifacts.set_current(tmp_path, "20240101T000000Z-cccccccc")
    with pytest.raises(ArtifactError, match=r"holds 31 vectors but .*item_factors\.npy has 30 rows"):
        artifacts.load_published(tmp_path)


def test_version_without_index_is_not_servable(tmp_path: Path) -> None:
    make_version(tmp_path, "20240101T000000Z-dddddddd", with_index=False)
    artifacts.set_current(tmp_path, "20240101T000000Z-dddddddd")
    with pytest.raises(ArtifactError, match=r"has no index yet; run `manage\.py build_index`"):
        artifacts.load_published(tmp_path)


def test_wrong_format_version(published: Path) -> None:
    rewrite_manifest(published, "20240101T000000Z-aaaaaaaa", lambda m: m.update(format_version=99))
    with pytest.raises(ArtifactError, match="has format_version 99"):
        artifacts.load_published(published)


def test_no_pickle_accepted(published: Path) -> None:
    path = artifacts.version_dir(published, "20240101T000000Z-aaaaaaaa")
    np.save(path / "item_factors.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    rewrite_manifest(
        published,
        "20240101T000000Z-aaaaaaaa",
        lambda m: m["files"].update({"item_factors.npy": artifacts.file_digest(path / "item_factors.npy")}),
    )
    with pytest.raises(ArtifactError, match=r"item_factors\.npy is not a readable \.npy array"):
        artifacts.load_published(published)


def test_versions_current_and_pruning(tmp_path: Path) -> None:
    names = [f"2024010{i}T000000Z-aaaaaaaa" for i in range(1, 6)]
    for name in names:
        make_version(tmp_path, name, with_index=False)
    assert artifacts.list_versions(tmp_path) == names
    assert artifacts.latest_version(tmp_path) == names[-1]
    artifacts.set_current(tmp_path, names[0])
    assert artifacts.current_version(tmp_path) == names[0]
    assert os.readlink(tmp_path / "current") == f"versions/{names[0]}"
    removed = artifacts.prune_versions(tmp_path, keep=2)
    assert removed == names[1:3]
    assert artifacts.list_versions(tmp_path) == [names[0], *names[3:]]  # the current one survives
    with pytest.raises(ArtifactError, match="Cannot publish version nope"):
        artifacts.set_current(tmp_path, "nope")


def test_name_collision_gets_a_suffix(tmp_path: Path) -> None:
    first = make_version(tmp_path, "20240101T000000Z-aaaaaaaa", with_index=False)
    second = make_version(tmp_path, "20240101T000000Z-aaaaaaaa", with_index=False)
    assert first.name == "20240101T000000Z-aaaaaaaa"
    assert second.name == "20240101T000000Z-aaaaaaaa-2"
    assert artifacts.read_manifest(second)["version"] == second.name
    assert not list((tmp_path / "versions").glob(".tmp-*"))


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    def broken(path: Path) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        artifacts.write_version(tmp_path, "20240101T000000Z-eeeeeeee", {"x.npy": broken}, {})
    assert artifacts.list_versions(tmp_path) == []
    assert not list((tmp_path / "versions").iterdir())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(counts=None), r"'counts' must be an object, found None"),
        (lambda m: m.pop("counts"), r"lacks 'counts'"),
        (lambda m: m["counts"].update(items="30"), r"'counts.items' must be a non-negative integer, found '30'"),
        (lambda m: m.update(dims=True), r"'dims' must be a positive integer, found True"),
        (lambda m: m.update(files=[]), r"'files' must be an object"),
        (lambda m: m["files"]["items.json"].update(bytes=None), r"'files.items.json.bytes' must be a non-negative"),
        (lambda m: m["files"]["items.json"].update(sha256="x"), r"'files.items.json.sha256' must be 64"),
        (lambda m: m.update(index=7), r"'index' must be an object, found 7"),
        (lambda m: m["index"].update(codes="int4"), r"'index.codes' must be one of 'float32', 'fp16', found 'int4'"),
        (
            lambda m: m["index"].update(codes=["fp16"]),
            r"'index.codes' must be one of 'float32', 'fp16', found \['fp16'\]",
        ),
        (lambda m: m["index"].update(ntotal=-1), r"'index.ntotal' must be a non-negative integer"),
        (lambda m: m.update(version=None), r"'version' must be a string"),
        (lambda m: m.update(scorer=[]), r"'scorer' must be an object"),
        (lambda m: m.update(scorer={"kind": 2}), r"'scorer.kind' must be a string, found 2"),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_refused_like_a_tampered_one(published: Path, change, message) -> None:
    rewrite_manifest(published, "20240101T000000Z-aaaaaaaa", change)
    with pytest.raises(ArtifactError, match=message):
        artifacts.load_published(published)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ({"song_id": "x"}, r"must be a list of song objects"),
        ([None], r"\[0\] must be an object"),
        ([{"song_id": "A - B", "artist": "A"}], r"lacks '\[0\].title'"),
        ([{"song_id": "A - B", "artist": "A", "title": "B", "popularity": None}], r"'\[0\].popularity' must be"),
    ],
)
def test_items_of_the_wrong_shape_are_refused(tmp_path: Path, items, message) -> None:
    (tmp_path / artifacts.ITEMS_FILE).write_text(json.dumps(items))
    with pytest.raises(ArtifactError, match=message):
        artifacts.load_items(tmp_path)


def test_current_never_points_at_an_incomplete_or_changed_version(published: Path) -> None:
    """Hosts sharing the artifacts follow `current` without checking first: the switch itself
    refuses a version whose files are not all there, whole, as the manifest recorded them."""
    make_version(published, "20240102T000000Z-bbbbbbbb")
    broken = artifacts.version_dir(published, "20240102T000000Z-bbbbbbbb") / "index.faiss"
    broken.write_bytes(broken.read_bytes()[:-8])  # as if still being copied
    with pytest.raises(ArtifactError, match=r"index\.faiss is \d+ bytes but the manifest says"):
        artifacts.set_current(published, "20240102T000000Z-bbbbbbbb")
    assert artifacts.current_version(published) == "20240101T000000Z-aaaaaaaa"
    assert not list(published.glob(".current*"))


def test_summarize_versions_marks_current(published: Path) -> None:
    make_version(published, "20240102T000000Z-bbbbbbbb", n=40, with_index=False)
    first, second = artifacts.summarize_versions(published)
    assert (first.version, first.is_current, first.songs, first.index_kind) == (
        "20240101T000000Z-aaaaaaaa",
        True,
        30,
        "flat",
    )
    assert (second.is_current, second.songs, second.index_kind) == (False, 40, None)
    on_disk = sum(p.stat().st_size for p in artifacts.version_dir(published, second.version).iterdir())
    manifest_size = (artifacts.version_dir(published, second.version) / artifacts.MANIFEST_FILE).stat().st_size
    assert second.size_bytes == on_disk - manifest_size
