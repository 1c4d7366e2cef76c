"""End to end on tiny demo data: train -> build index -> load as served -> evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml import artifacts
from ml.evaluation import format_report
from ml.pipeline import TrainConfig, build_version_index, evaluate_version, train_model
from ml.readers import read_interactions
from ml.search import search_params
from ml.split import build_catalog, make_eval_cases, split_users, user_item_matrix
from ml.train import SVDParams

FAST = SVDParams(n_factors=16, n_epochs=8, reg=0.05, lr=0.03)


def test_train_index_load_evaluate(demo_csv: Path, tmp_path: Path) -> None:
    messages: list[str] = []
    result = train_model(
        TrainConfig(data=demo_csv, out=tmp_path, trials=2, params=FAST, seed=1), notify=messages.append
    )
    manifest = result.manifest
    assert manifest["data"]["format"] == "lastfm"
    assert manifest["data"]["sha256"] == read_interactions(demo_csv).source["sha256"]
    assert manifest["dims"] == manifest["params"]["n_factors"]
    assert len(manifest["search"]["trials"]) == 2
    assert manifest["search"]["trials"][0]["params"]["n_factors"] == 16  # trial 0 = the given params
    assert set(manifest["metrics"]["test"]["results"]) == {"next_song", "all_remaining"}
    assert {"item_factors.npy", "item_bias.npy", "items.json", "train_matrix.npz", "eval_cases.npz"} <= set(
        manifest["files"]
    )
    assert {"next_song_cases.npz", "item_graph.npz"} <= set(manifest["files"])
    assert manifest["scorer"]["kind"] in {"lightgbm", "blend"}
    assert ("ranker.txt" in manifest["files"]) == (manifest["scorer"]["kind"] == "lightgbm")
    assert manifest["search"]["objective"] == "next-song hit_rate@10"
    assert any("Fitting SVD" in m for m in messages)
    with pytest.raises(Exception, match="has no index yet"):
        artifacts.load_version(result.path, require_index=True)

    version, info, items = build_version_index(tmp_path)
    assert version == result.version
    assert info["kind"] == "flat"
    assert items[0].keys() == {"song_id", "artist", "title", "popularity"}
    artifacts.set_current(tmp_path, version)
    model = artifacts.load_published(tmp_path)
    assert model.index.ntotal == len(model.items) == manifest["counts"]["items"]

    outcome = evaluate_version(tmp_path)
    assert outcome["version"] == version
    assert outcome["index"] == "flat"
    report = outcome["report"]
    stored = manifest["metrics"]["test"]["results"]
    baselines = {"popularity", "item_knn", "rp3beta", "ease", "svd"}
    for protocol in ("next_song", "all_remaining"):
        results = report.results[protocol]
        assert baselines <= set(results)
        assert {f"{stage} {kind}" for stage in ("svd", "graph", "blend") for kind in ("raw", "served")} <= set(results)
        # The flat index and the stored graph and scorer give exactly what training measured.
        for method in ("svd", "item_knn", f"{report.product} served", f"{report.product} raw"):
            for metric, value in stored[protocol][method].items():
                if metric != "seconds":
                    assert results[method][metric] == pytest.approx(value), (protocol, method, metric)
        # The demo data has learnable structure: the served lists beat popularity.
        assert report.served(protocol)["hit_rate@10"] > results["popularity"]["hit_rate@10"]
    assert {"hit_rate@10", "mrr@10", "ndcg@10"} <= set(report.served("next_song"))
    assert {"hit_rate@10", "ndcg@10", "recall@50", "coverage@10"} <= set(report.served("all_remaining"))
    # The cap binds on the demo data (few artists, many songs each): lifting it finds more at 50.
    uncapped = report.results["all_remaining"][f"{report.product} served, no artist cap"]
    assert uncapped["recall@50"] > report.served("all_remaining")["recall@50"]
    assert f"{report.product} served, no artist cap" not in report.results["next_song"]  # no Recall@50 there
    table = format_report(report)
    for name in ("next_song", "all_remaining", "item_knn", "rp3beta", "ease", "mrr@10", "recall@50"):
        assert name in table

    _, hnsw_info, _ = build_version_index(tmp_path, version, kind="hnsw")
    assert hnsw_info["kind"] == "hnsw"
    assert artifacts.read_manifest(result.path)["index"] == hnsw_info  # recall figures kept with the model
    assert 0.5 < hnsw_info["recall_at_10"] <= 1.0
    assert 0.5 < hnsw_info["recall_at_10_popular"] <= 1.0

    _, ivf_info, _ = build_version_index(tmp_path, version, kind="ivf")
    manifest_index = artifacts.read_manifest(result.path)["index"]
    assert manifest_index == ivf_info  # nprobe and recall kept with the model
    assert artifacts.load_version(result.path).index.nprobe == ivf_info["nprobe"]  # and restored when served


def test_same_data_same_seed_byte_identical_factors(demo_csv: Path, tmp_path: Path) -> None:
    config = {"data": demo_csv, "trials": 0, "params": FAST, "seed": 4}
    first = train_model(TrainConfig(out=tmp_path / "a", **config))
    second = train_model(TrainConfig(out=tmp_path / "b", **config))
    sha = lambda r: r.manifest["files"]["item_factors.npy"]["sha256"]  # noqa: E731
    assert sha(first) == sha(second)
    assert (first.path / "items.json").read_bytes() == (second.path / "items.json").read_bytes()
    third = train_model(TrainConfig(out=tmp_path / "c", **{**config, "seed": 5}))
    assert sha(third) != sha(first)


def test_search_keeps_the_best_trial(demo_csv: Path) -> None:
    data = read_interactions(demo_csv)
    train, val, _ = split_users(data.n_users, test_fraction=0.1, val_fraction=0.2, seed=0)
    catalog, users = build_catalog(data, train, min_item_users=2, min_user_items=2)
    cases = make_eval_cases(user_item_matrix(data, val, catalog), n_seeds=5, seed=1)
    result = search_params(user_item_matrix(data, users, catalog), cases, trials=3, timeout_s=None, seed=0, start=FAST)
    assert len(result.trials) == 3
    assert result.best_value == max(t["value"] for t in result.trials)
    assert result.trials[0]["params"] == FAST.to_dict()
    assert all(t["state"] == "complete" for t in result.trials)


def test_tiny_data_without_enough_shared_songs(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Username,Artist,Track\na,X,1\nb,Y,2\n")
    with pytest.raises(Exception, match="no song was played by at least 2 users"):
        train_model(TrainConfig(data=path, out=tmp_path / "out", trials=0, params=FAST))
    assert not (tmp_path / "out").exists() or artifacts.list_versions(tmp_path / "out") == []


def test_evaluate_without_model(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="No trained model"):
        evaluate_version(tmp_path)
