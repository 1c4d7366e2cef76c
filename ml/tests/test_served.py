"""The served ranking (ml.served) on small generated data: the rules every list obeys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.candidates import FEATURES, ON_DEMAND, Query, candidate_set
from ml.graph import build_item_graph
from ml.ranker import (
    BLEND_START,
    BlendScorer,
    FeatureScorer,
    RankerParams,
    TrainingRows,
    expected_next_song_hit_rate,
    fit_blend,
)
from ml.readers import read_interactions
from ml.recommend import serving_vectors
from ml.served import (
    Mix,
    RankingModel,
    candidates_for,
    profile_query,
    rank_candidates,
    recommend,
    recommend_lists,
    up_next_query,
)
from ml.split import build_catalog, make_eval_cases, split_users, user_item_matrix
from ml.train import SVDParams, fit_svd
from ml.two_stage import CV_FOLDS, artist_codes_of, exact_index, fit_scorer, ranker_serves

BLEND = BlendScorer({"rp3_z": 1.0, "cosine_z": 0.5, "svd_z": 0.5, "same_artist": 0.5})


@pytest.fixture(scope="module")
def model(model_and_validation_cases) -> RankingModel:
    return model_and_validation_cases[0]


@pytest.fixture(scope="module")
def model_and_validation_cases(demo_csv: Path):
    """A small model fitted on the training users, and the validation users' seed/held-out cases."""
    data = read_interactions(demo_csv)
    train, validation, _ = split_users(data.n_users, test_fraction=0.1, val_fraction=0.2, seed=0)
    catalog, users = build_catalog(data, train, min_item_users=2, min_user_items=2)
    matrix = user_item_matrix(data, users, catalog)
    svd = fit_svd(matrix, SVDParams(n_factors=16, n_epochs=8, reg=0.05, lr=0.03), seed=0)
    vectors = serving_vectors(svd.item_factors)
    model = RankingModel(
        vectors=vectors,
        index=exact_index(vectors),
        graph=build_item_graph(matrix.matrix),
        scorer=BLEND,
        popularity=matrix.popularity(),
        artist_codes=artist_codes_of([data.artists[c] for c in catalog.tolist()]),
    )
    validation_cases = make_eval_cases(user_item_matrix(data, validation, catalog), n_seeds=3, seed=1)
    return model, validation_cases


def rows_of(ranked) -> list[int]:
    return [r.row for r in ranked]


def test_banned_and_avoided_songs_never_appear_when_the_catalog_can_fill_the_list(model: RankingModel) -> None:
    seeds = [0, 5, 9]
    banned = set(range(10, 40))
    ranked = recommend(model, profile_query(model, seeds), limit=20, banned=banned, avoided=seeds)
    assert len(ranked) == 20
    assert not set(rows_of(ranked)) & (banned | set(seeds))


def test_at_most_two_songs_per_artist(model: RankingModel) -> None:
    for seeds in ([0, 1, 2], [3], [7, 8, 30, 31, 60]):
        ranked = recommend(model, profile_query(model, seeds), limit=30, avoided=seeds, max_per_artist=2)
        artists = model.artist_codes[rows_of(ranked)]
        assert np.bincount(artists).max() <= 2


def test_without_the_artist_cap_and_mmr_the_list_is_the_raw_ranking(model: RankingModel) -> None:
    """What the evaluation's "served, no artist cap" row relies on: None lifts the cap only."""
    seeds = [7, 8, 30, 31, 60]
    query = profile_query(model, seeds)
    raw, _ = rank_candidates(model, query, seeds)
    uncapped = recommend(model, query, limit=30, avoided=seeds, mmr_lambda=1.0, max_per_artist=None)
    assert rows_of(uncapped) == raw.rows[:30].tolist()
    capped = recommend(model, query, limit=30, avoided=seeds, mmr_lambda=1.0, max_per_artist=2)
    assert np.bincount(model.artist_codes[rows_of(uncapped)]).max() > 2  # the cap had work to do
    assert rows_of(capped) != rows_of(uncapped)


def test_the_same_request_gives_the_same_list(model: RankingModel) -> None:
    query = profile_query(model, [4, 11, 17], [1.0, 1.0, 2.0])
    first = recommend(model, query, limit=15, avoided=[4, 11, 17])
    again = recommend(model, profile_query(model, [4, 11, 17], [1.0, 1.0, 2.0]), limit=15, avoided=[4, 11, 17])
    assert first == again


def test_candidates_come_from_both_generators(model: RankingModel) -> None:
    seeds = np.asarray([2, 40, 80])
    query = profile_query(model, seeds)
    common = {
        "vectors": model.vectors,
        "search": model.index.search,
        "popularity": model.popularity,
        "artist_codes": model.artist_codes,
        "excluded": seeds,
    }
    candidates = candidate_set(query, graph=model.graph, faiss_candidates=10, **common)
    from_faiss = candidates.column("from_faiss") == 1
    graph_rows = set(
        np.unique(
            np.concatenate([model.graph.indices[model.graph.indptr[s] : model.graph.indptr[s + 1]] for s in seeds])
        ).tolist()
    )
    _, nearest = model.index.search(query.vector[None, :], 10 + len(seeds))
    assert set(candidates.rows[from_faiss].tolist()) == set(nearest[0].tolist()) - set(seeds.tolist())
    assert set(candidates.rows[~from_faiss].tolist()) <= graph_rows
    assert (~from_faiss).sum() > 0
    assert from_faiss.sum() > 0
    # Graph-only candidates carry graph scores; every candidate carries its SVD score.
    assert (candidates.column("rp3")[~from_faiss] > 0).all()
    expected_svd = model.vectors[candidates.rows] @ query.vector
    assert candidates.column("svd") == pytest.approx(expected_svd, abs=1e-5)
    assert candidates.features.shape == (len(candidates), len(FEATURES))
    assert not set(candidates.rows.tolist()) & set(seeds.tolist())


@pytest.mark.parametrize("profile", [[2, 40, 80], [2, 40, 2], []], ids=["three songs", "a repeated song", "none"])
def test_profile_similarity_features_are_the_plain_max_and_weighted_mean(model: RankingModel, profile) -> None:
    rows = np.asarray(profile, dtype=np.int64)
    weights = np.asarray([1.0, 2.0, 0.5][: len(profile)])
    vector = profile_query(model, [2, 40, 80]).vector  # any unit query; the profile may be empty
    candidates = candidate_set(
        Query(vector, rows, weights),
        vectors=model.vectors,
        search=model.index.search,
        graph=model.graph,
        popularity=model.popularity,
        artist_codes=model.artist_codes,
        excluded=rows,
    )
    sims = model.vectors[candidates.rows] @ model.vectors[rows].T  # [c, p]
    expected_max = sims.max(axis=1) if len(profile) else np.zeros(len(candidates))
    expected_mean = sims @ (weights / weights.sum()) if len(profile) else np.zeros(len(candidates))
    assert candidates.column("seed_sim_max") == pytest.approx(expected_max, abs=1e-5)
    assert candidates.column("seed_sim_mean") == pytest.approx(expected_mean, abs=1e-5)
    assert candidates.column("svd") == pytest.approx(model.vectors[candidates.rows] @ vector, abs=1e-5)


@pytest.mark.parametrize(
    "scorer",
    [BlendScorer(BLEND_START), FeatureScorer("seed_sim_max"), FeatureScorer("rp3_rank")],
    ids=["the product's blend", "a scorer of an optional column", "a scorer of a rank column"],
)
def test_a_request_computes_the_columns_its_scorer_reads_and_ranks_as_with_every_column(
    model: RankingModel, scorer
) -> None:
    query = profile_query(model, [2, 40, 80])
    every = candidates_for(model, query, np.asarray([2, 40, 80]))
    asked = candidates_for(model, query, np.asarray([2, 40, 80]), scorer.features)
    assert (asked.rows == every.rows).all()
    for name in FEATURES:
        expected = every.column(name) if name in scorer.features or name not in ON_DEMAND else 0.0
        assert asked.column(name) == pytest.approx(expected, abs=1e-6), name
    assert (scorer.score(asked.features) == scorer.score(every.features)).all()
    # The served path asks for the scorer's columns itself.
    ranked, scores = rank_candidates(model, query, [2, 40, 80], scorer=scorer)
    every_scores = scorer.score(every.features)
    order = np.lexsort((every.rows, -every_scores))
    assert (ranked.rows == every.rows[order]).all()
    assert (scores == every_scores[order]).all()


def test_the_scorer_decides_the_order(model: RankingModel) -> None:
    query = profile_query(model, [1, 2, 3])
    by_graph, graph_scores = rank_candidates(model, query, [1, 2, 3], scorer=FeatureScorer("rp3"))
    by_svd, _ = rank_candidates(model, query, [1, 2, 3], scorer=FeatureScorer("svd"))
    assert list(graph_scores) == sorted(graph_scores, reverse=True)
    assert by_graph.column("rp3")[0] == by_graph.column("rp3").max()
    assert by_svd.column("svd")[0] == pytest.approx(by_svd.column("svd").max())
    assert by_graph.rows[0] != by_svd.rows[0] or by_graph.rows[1] != by_svd.rows[1]


def test_distance_is_the_cosine_distance_to_the_query_vector(model: RankingModel) -> None:
    query = profile_query(model, [6, 7])
    for ranked in recommend(model, query, limit=10, avoided=[6, 7]):
        assert ranked.distance == pytest.approx(1.0 - float(model.vectors[ranked.row] @ query.vector), abs=1e-5)
        assert 0.0 <= ranked.distance <= 2.0


def test_up_next_mixes_the_song_and_the_profile(model: RankingModel) -> None:
    alone = up_next_query(model, 12)
    assert alone.vector == pytest.approx(model.vectors[12])
    mixed = up_next_query(model, 12, [3, 4], [1.0, 2.0])
    profile = profile_query(model, [3, 4], [1.0, 2.0]).vector
    expected = 0.78 * model.vectors[12] + 0.22 * profile
    assert mixed.vector == pytest.approx(expected / np.linalg.norm(expected), abs=1e-5)
    assert list(mixed.rows) == [12, 3, 4]
    assert mixed.weights == pytest.approx([0.78, 0.22 / 3, 0.44 / 3])
    ranked = recommend(model, mixed, limit=10, banned=[12], avoided=[3, 4])
    assert 12 not in rows_of(ranked)


def test_a_tiny_catalog_fills_the_list_with_avoided_songs_but_never_banned_ones(model: RankingModel) -> None:
    size = model.size
    banned = set(range(5, size))  # only rows 0-4 may appear
    ranked = recommend(model, profile_query(model, [0, 1]), limit=10, banned=banned, avoided=[0, 1])
    assert sorted(rows_of(ranked)) == [0, 1, 2, 3, 4]
    assert set(rows_of(ranked)[-2:]) == {0, 1}  # the avoided seeds come last


def test_lists_of_one_query_share_no_song_and_the_first_is_the_plain_list(model: RankingModel) -> None:
    query = profile_query(model, [2, 8, 13])
    plain = recommend(model, query, limit=12, banned=[40], avoided=[2, 8, 13])
    vibe, fresh = recommend_lists(
        model, query, [Mix(), Mix(mmr_lambda=0.5, pool_per_result=12)], limit=12, banned=[40], avoided=[2, 8, 13]
    )
    assert vibe == plain
    assert len(fresh) == 12
    assert not set(rows_of(fresh)) & (set(rows_of(vibe)) | {40, 2, 8, 13})
    assert np.bincount(model.artist_codes[rows_of(fresh)]).max() <= 2


def test_a_later_list_may_take_only_what_the_earlier_ones_left_in_a_tiny_catalog(model: RankingModel) -> None:
    banned = set(range(6, model.size))  # rows 0-5 only: 4 songs and the 2 avoided seeds
    first, second = recommend_lists(
        model, profile_query(model, [0, 1]), [Mix(), Mix()], limit=4, banned=banned, avoided=[0, 1]
    )
    assert sorted(rows_of(first)) == [2, 3, 4, 5]
    assert sorted(rows_of(second)) == [0, 1]  # the avoided seeds, never a song of the first list


def test_blend_and_ranker_are_compared_on_users_they_were_not_fitted_on(model_and_validation_cases) -> None:
    model, cases = model_and_validation_cases
    fit = fit_scorer(model, cases, params=RankerParams(n_trees=20, min_positives=1), seed=0)
    assert fit.counts["fit_queries"] == cases.n_cases >= 2 * CV_FOLDS
    assert fit.counts["cv_folds"] == CV_FOLDS  # every validation user held out once
    assert set(fit.validation) == {"svd", "graph", "blend", "ranker"}
    assert fit.ranker is not None
    assert fit.scorer is (fit.ranker if ranker_serves(fit.validation) else fit.blend)
    again = fit_scorer(model, cases, params=RankerParams(n_trees=20, min_positives=1), seed=0)
    assert again.validation == fit.validation


def test_the_costlier_ranker_serves_only_with_a_clear_lead_over_the_blend() -> None:
    assert not ranker_serves({"blend": 0.060})  # no ranker trained
    assert not ranker_serves({"blend": 0.060, "ranker": 0.063})  # +5%: within the cross-validation's noise
    assert ranker_serves({"blend": 0.060, "ranker": 0.067})  # +12%


def _rows_marked_by(feature: str, *, queries: int, candidates: int = 40, seed: int = 0) -> TrainingRows:
    """Random blend features; each query's 3 candidates highest on ``feature`` (plus noise) are
    its held-out songs."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(queries * candidates, len(FEATURES))).astype(np.float32)
    marked = features[:, FEATURES.index(feature)] + 0.5 * rng.normal(size=queries * candidates)
    labels = np.zeros(queries * candidates, dtype=np.int8)
    for query in range(queries):
        block = slice(query * candidates, (query + 1) * candidates)
        labels[block][np.argsort(-marked[block])[:3]] = 1
    return TrainingRows(
        features=features,
        labels=labels,
        query_of=np.repeat(np.arange(queries), candidates),
        n_relevant=np.full(queries, 3, dtype=np.int64),
    )


def test_the_fitted_blend_leans_on_the_feature_that_marks_the_held_out_songs() -> None:
    rows = _rows_marked_by("svd_z", queries=60)
    blend = fit_blend(rows)
    assert set(blend.weights) == set(BLEND_START)
    assert max(blend.weights, key=lambda name: abs(blend.weights[name])) == "svd_z"
    assert blend.weights["svd_z"] > 0
    fitted = expected_next_song_hit_rate(rows, blend.score(rows.features))
    assert fitted > 2 * expected_next_song_hit_rate(rows, BlendScorer(dict(BLEND_START)).score(rows.features))


def _reference_softmax_loss(rows: TrainingRows, weights: dict[str, float]) -> float:
    """The listwise loss written plainly: per user with a held-out candidate, minus the mean
    log-softmax of their held-out candidates' scores; users averaged."""
    scores = BlendScorer(weights).score(rows.features)
    losses = []
    for query in np.unique(rows.query_of):
        mine = rows.query_of == query
        positives = rows.labels[mine] > 0
        if positives.any():
            log_softmax = scores[mine] - np.logaddexp.reduce(scores[mine])
            losses.append(-log_softmax[positives].mean())
    return float(np.mean(losses))


def test_the_fitted_blend_minimises_the_listwise_loss_in_the_features_own_units() -> None:
    """Uneven users (4-60 candidates, 1-5 held-out songs, numbers with gaps), one feature in
    hundreds: no small change of any fitted weight lowers the loss."""
    rng = np.random.default_rng(3)
    features, labels, query_of = [], [], []
    for query in range(0, 160, 2):
        n = int(rng.integers(4, 61))
        block = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
        block[:, FEATURES.index("cosine_z")] *= 100.0
        signal = block[:, FEATURES.index("svd_z")] + block[:, FEATURES.index("cosine_z")] / 100.0
        chosen = np.argsort(-(signal + 1.5 * rng.normal(size=n)))[: int(rng.integers(1, min(5, n - 1) + 1))]
        block_labels = np.zeros(n, dtype=np.int8)
        block_labels[chosen] = 1
        features.append(block)
        labels.append(block_labels)
        query_of.append(np.full(n, query, dtype=np.int64))
    rows = TrainingRows(
        features=np.concatenate(features),
        labels=np.concatenate(labels),
        query_of=np.concatenate(query_of),
        n_relevant=np.zeros(160, dtype=np.int64),
    )
    rows.n_relevant[0::2] = [int(block.sum()) for block in labels]
    fitted = fit_blend(rows, l2=0.0).weights
    best = _reference_softmax_loss(rows, fitted)
    for name in fitted:
        for step in (0.97, 1.03):
            assert _reference_softmax_loss(rows, {**fitted, name: fitted[name] * step}) >= best - 1e-7, name
    assert abs(fitted["cosine_z"]) < abs(fitted["svd_z"]) / 20  # its weight is in its own units


def test_the_blend_fit_refuses_rows_not_grouped_by_user() -> None:
    rows = _rows_marked_by("svd_z", queries=4)
    shuffled = TrainingRows(rows.features, rows.labels, rows.query_of[::-1].copy(), rows.n_relevant)
    with pytest.raises(ValueError, match="non-decreasing"):
        fit_blend(shuffled)


def test_users_without_a_held_out_candidate_do_not_move_the_blend() -> None:
    rows = _rows_marked_by("rp3_z", queries=30)
    unanswered = _rows_marked_by("same_artist", queries=10, seed=1)
    unanswered.labels[:] = 0
    both = TrainingRows(
        features=np.concatenate([rows.features, unanswered.features]),
        labels=np.concatenate([rows.labels, unanswered.labels]),
        query_of=np.concatenate([rows.query_of, unanswered.query_of + rows.n_queries]),
        n_relevant=np.concatenate([rows.n_relevant, unanswered.n_relevant]),
    )
    assert fit_blend(both).weights == pytest.approx(fit_blend(rows).weights, abs=1e-5)
    assert fit_blend(unanswered).weights == BLEND_START  # nothing to learn from: the starting blend
