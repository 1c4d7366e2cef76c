"""The item graph against a dense computation of the same formulas, and the ranker's pieces."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ml import graph as graph_module
from ml.baselines import RP3BetaRanker
from ml.candidates import FEATURES
from ml.graph import GraphParams, ItemGraph, build_item_graph
from ml.ranker import BlendScorer, LightGBMScorer, TrainingRows, expected_next_song_hit_rate, train_lightgbm


def random_plays(users: int = 60, items: int = 25, density: float = 0.2, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    return sp.csr_matrix((rng.random((users, items)) < density).astype(np.float32) * rng.integers(1, 4, (users, items)))


def dense_measures(plays: sp.csr_matrix, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = (plays.toarray() > 0).astype(np.float64)
    pop = np.maximum(x.sum(axis=0), 1)
    length = np.maximum(x.sum(axis=1), 1)
    cooc = x.T @ x
    rp3 = (pop[:, None] ** -alpha) * (x.T @ (x * (length[:, None] ** -alpha))) * (pop[None, :] ** -beta)
    cosine = cooc / np.sqrt(pop[:, None] * pop[None, :])
    for matrix in (cooc, rp3, cosine):
        np.fill_diagonal(matrix, 0.0)
    return rp3, cosine, cooc


@pytest.mark.parametrize("block_rows", [3, 2048])
def test_graph_keeps_each_rows_top_k_of_either_measure_with_exact_values(monkeypatch, block_rows: int) -> None:
    monkeypatch.setattr(graph_module, "GRAPH_BLOCK_ROWS", block_rows)
    plays = random_plays()
    params = GraphParams(k=4, alpha=0.5, beta=0.25)
    graph = build_item_graph(plays, params)
    rp3, cosine, cooc = dense_measures(plays, params.alpha, params.beta)
    assert graph.indices.dtype == np.int32
    assert graph.rp3.dtype == graph.cosine.dtype == graph.cooc.dtype == np.float32
    for row in range(plays.shape[1]):
        neighbours = graph.indices[graph.indptr[row] : graph.indptr[row + 1]]
        assert row not in neighbours
        assert list(neighbours) == sorted(neighbours)
        expected = {int(j) for j in np.argsort(-rp3[row], kind="stable")[:4] if rp3[row, j] > 0}
        expected |= {int(j) for j in np.argsort(-cosine[row], kind="stable")[:4] if cosine[row, j] > 0}
        assert set(neighbours.tolist()) <= set(np.flatnonzero(cooc[row]).tolist())
        # Ties at the k-th place may pick either song; every strictly better one is kept.
        for measure in (rp3, cosine):
            kth = np.sort(measure[row])[::-1][3]
            assert {int(j) for j in np.flatnonzero(measure[row] > kth)} <= set(neighbours.tolist())
        span = slice(graph.indptr[row], graph.indptr[row + 1])
        assert graph.rp3[span] == pytest.approx(rp3[row, neighbours], rel=1e-5)
        assert graph.cosine[span] == pytest.approx(cosine[row, neighbours], rel=1e-5)
        assert graph.cooc[span] == pytest.approx(cooc[row, neighbours])
        assert len(neighbours) <= 8
        assert expected


def test_graph_round_trips_through_its_arrays_and_rejects_wrong_ones() -> None:
    graph = build_item_graph(random_plays())
    again = ItemGraph.from_arrays(graph.to_arrays(), n_items=graph.n_items)
    assert np.array_equal(again.indices, graph.indices)
    assert again.params == graph.params
    with pytest.raises(ValueError, match="does not describe 26 songs"):
        ItemGraph.from_arrays(graph.to_arrays(), n_items=26)
    arrays = graph.to_arrays()
    arrays["rp3"] = arrays["rp3"].astype(np.float64)
    with pytest.raises(ValueError, match="must be finite float32"):
        ItemGraph.from_arrays(arrays, n_items=graph.n_items)


def test_neighbours_sum_each_measure_over_the_profile_with_its_weights() -> None:
    graph = build_item_graph(random_plays(), GraphParams(k=25))  # every co-occurring pair kept
    rp3, _, _ = dense_measures(random_plays(), 0.5, 0.25)
    rows, sums, links = graph.neighbours(np.asarray([1, 7]), np.asarray([1.0, 2.0]))
    expected = rp3[1] + 2.0 * rp3[7]
    assert sums["rp3"] == pytest.approx(expected[rows], rel=1e-5)
    assert set(rows.tolist()) == set(np.flatnonzero((rp3[1] > 0) | (rp3[7] > 0)).tolist())
    assert links == pytest.approx(((rp3[1] > 0).astype(int) + (rp3[7] > 0).astype(int))[rows])


def test_neighbours_of_a_profile_with_a_song_without_edges_and_a_repeated_song() -> None:
    plays = random_plays().tolil()
    plays[:, 12] = 0  # nobody played song 12: it has no edges
    plays = plays.tocsr()
    plays.eliminate_zeros()
    graph = build_item_graph(plays, GraphParams(k=25))
    rp3, cosine, _ = dense_measures(plays, 0.5, 0.25)
    profile, weights = np.asarray([1, 12, 7, 1]), np.asarray([1.0, 5.0, 2.0, 0.5])
    rows, sums, links = graph.neighbours(profile, weights)
    assert graph.indptr[13] == graph.indptr[12]
    for measure, dense in (("rp3", rp3), ("cosine", cosine)):
        expected = sum(w * dense[r] for r, w in zip(profile, weights, strict=True))
        assert sums[measure] == pytest.approx(expected[rows], rel=1e-5)
    assert links == pytest.approx(sum((dense_row > 0).astype(int) for dense_row in rp3[profile])[rows])


def test_full_rp3beta_baseline_matches_the_dense_formula() -> None:
    plays = random_plays()
    seeds = np.asarray([[0, 3, 5]])
    scores = RP3BetaRanker(plays, alpha=0.5, beta=0.25).scores(seeds)[0]
    x = (plays.toarray() > 0).astype(np.float64)
    pop = np.maximum(x.sum(axis=0), 1)
    expected = sum((pop[s] ** -0.5) * (x[:, s] * np.maximum(x.sum(axis=1), 1) ** -0.5) @ x for s in seeds[0])
    assert scores == pytest.approx(expected * pop**-0.25, rel=1e-4)


def test_expected_next_song_hit_rate_counts_each_users_share_of_held_out_songs_in_the_top_k() -> None:
    features = np.zeros((6, len(FEATURES)), dtype=np.float32)
    rows = TrainingRows(
        features=features,
        labels=np.asarray([1, 0, 1, 0, 0, 1], dtype=np.int8),
        query_of=np.asarray([0, 0, 0, 1, 1, 1]),
        n_relevant=np.asarray([4, 1]),
    )
    scores = np.asarray([3.0, 2.0, 1.0, 3.0, 2.0, 1.0])
    # k=2: user 0 finds 1 of its 4 held-out songs, user 1 none of its 1.
    assert expected_next_song_hit_rate(rows, scores, k=2) == pytest.approx((1 / 4 + 0) / 2)
    assert expected_next_song_hit_rate(rows, scores, k=3) == pytest.approx((2 / 4 + 1) / 2)


def test_training_rows_subset_keeps_the_chosen_queries_renumbered_in_order() -> None:
    features = np.arange(12, dtype=np.float32).reshape(6, 2)
    rows = TrainingRows(
        features=features,
        labels=np.asarray([1, 0, 0, 1, 0, 1], dtype=np.int8),
        query_of=np.asarray([0, 0, 1, 2, 2, 2]),
        n_relevant=np.asarray([3, 1, 2]),
    )
    part = rows.subset(np.asarray([0, 2]))
    assert part.n_queries == 2
    assert part.query_of.tolist() == [0, 0, 1, 1, 1]
    assert part.labels.tolist() == [1, 0, 1, 0, 1]
    assert part.n_relevant.tolist() == [3, 2]
    assert part.features.tolist() == features[[0, 1, 3, 4, 5]].tolist()


def test_lightgbm_ranker_learns_the_label_and_survives_its_text_form() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(3000, len(FEATURES))).astype(np.float32)
    labels = (features[:, FEATURES.index("rp3_z")] + 0.3 * rng.normal(size=3000) > 1.5).astype(np.int8)
    rows = TrainingRows(features, labels, np.repeat(np.arange(30), 100), np.full(30, 10))
    ranker = train_lightgbm(rows)
    scores = ranker.score(features)
    assert expected_next_song_hit_rate(rows, scores) > expected_next_song_hit_rate(rows, -scores)
    again = LightGBMScorer.from_text(ranker.to_text())
    assert again.score(features) == pytest.approx(scores)
    blend = BlendScorer({"rp3_z": 1.0})
    assert blend.score(features) == pytest.approx(features[:, FEATURES.index("rp3_z")])
