"""Bounded hyper-parameter search for the SVD, scored by a *ranking* metric.

Each trial fits on the training users and scores cold-start queries of the validation users (the
served query formula, exact search) by the **next-song** protocol's HitRate@10 (one held-out song
per validation user: the harder, more honest metric). The best trial's fitted model is kept, so the
second stage can be trained on it without fitting again. RMSE is never the objective: on
implicit data it rewards predicting "everything is liked".

Trial 0 is always the given starting parameters (the product defaults), so the search can only
replace them with something that scored better on validation. Trials run one after another with a
seeded TPE sampler, so a search that finishes its trials is reproducible; ``timeout_s`` is a
safety net for large files (a search cut short by it depends on machine speed).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from .baselines import VectorRanker
from .errors import MLError
from .evaluate import rank_metrics
from .recommend import serving_vectors
from .split import EvalCases, UserItemMatrix
from .train import DEFAULT_PARAMS, SVDModel, SVDParams, fit_svd

__all__ = ["SEARCH_SPACE", "SearchResult", "search_params"]

logger = logging.getLogger(__name__)

#: The space the sampler explores. Wide models and regularisation matter most on playlist data;
#: negatives ratio is capped at 2 to bound a trial's cost (each ratio step adds a full pass).
SEARCH_SPACE = {
    "n_factors": [32, 64, 128, 192, 256],
    "n_epochs": (10, 35, 5),
    "lr": (0.01, 0.15),
    "reg": (0.003, 0.1),
    "init_std": (0.005, 0.1),
    "neg_ratio": (0.25, 2.0),
    "neg_alpha": (0.0, 1.0),
}


@dataclass
class SearchResult:
    best_params: SVDParams
    best_value: float
    objective: str
    trials: list[dict] = field(default_factory=list)  # number, params, value, seconds, state
    seconds: float = 0.0
    best_model: SVDModel | None = field(default=None, repr=False)  # fitted on the search's training users


def _distributions() -> dict:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    space = SEARCH_SPACE
    low, high, step = space["n_epochs"]
    return {
        "n_factors": CategoricalDistribution(space["n_factors"]),
        "n_epochs": IntDistribution(low, high, step=step),
        "lr": FloatDistribution(*space["lr"], log=True),
        "reg": FloatDistribution(*space["reg"], log=True),
        "init_std": FloatDistribution(*space["init_std"], log=True),
        "neg_ratio": FloatDistribution(*space["neg_ratio"], log=True),
        "neg_alpha": FloatDistribution(*space["neg_alpha"]),
    }


def _suggest(trial) -> SVDParams:
    space = SEARCH_SPACE
    low, high, step = space["n_epochs"]
    return SVDParams(
        n_factors=trial.suggest_categorical("n_factors", space["n_factors"]),
        n_epochs=trial.suggest_int("n_epochs", low, high, step=step),
        lr=trial.suggest_float("lr", *space["lr"], log=True),
        reg=trial.suggest_float("reg", *space["reg"], log=True),
        init_std=trial.suggest_float("init_std", *space["init_std"], log=True),
        neg_ratio=trial.suggest_float("neg_ratio", *space["neg_ratio"], log=True),
        neg_alpha=trial.suggest_float("neg_alpha", *space["neg_alpha"]),
        biased=False,
    )


def score_params(
    params: SVDParams, train: UserItemMatrix, cases: EvalCases, *, seed: int, objective: str = "hit_rate@10"
) -> tuple[float, dict]:
    """Fit with ``params`` and return (objective value, all ranking metrics, the model) on ``cases``."""
    model = fit_svd(train, params, seed=seed)
    top = VectorRanker(serving_vectors(model.item_factors)).top(cases.seeds, 50)
    metrics = rank_metrics(top, cases, train.n_items)
    return metrics[objective], metrics, model


def search_params(
    train: UserItemMatrix,
    val_cases: EvalCases,
    *,
    trials: int,
    timeout_s: float | None,
    seed: int,
    start: SVDParams = DEFAULT_PARAMS,
    objective: str = "hit_rate@10",
    max_val_cases: int = 2000,
    progress: bool = False,
) -> SearchResult:
    """Run up to ``trials`` trials (trial 0 = ``start``) within ``timeout_s`` seconds."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if val_cases.n_cases == 0:
        raise MLError("No validation users have enough songs to score a parameter search; use --trials 0.")
    if val_cases.n_cases > max_val_cases:
        chosen = np.sort(np.random.default_rng(seed).choice(val_cases.n_cases, max_val_cases, replace=False))
        val_cases = val_cases.subset(chosen)
    started = time.perf_counter()
    history: list[dict] = []
    best: dict = {"value": -1.0, "model": None}

    def record(number: int, params: SVDParams) -> float:
        t0 = time.perf_counter()
        model = None
        try:
            value, metrics, model = score_params(params, train, val_cases, seed=seed, objective=objective)
            state = "complete"
        except MLError as exc:  # diverged: a legitimate, bad, outcome of this point
            logger.info("Trial %d diverged: %s", number, exc)
            value, metrics, state = 0.0, {}, "diverged"
        if not math.isfinite(value):
            value = 0.0
        if model is not None and value > best["value"]:
            best.update(value=value, model=model)
        history.append(
            {
                "number": number,
                "params": params.to_dict(),
                "value": round(value, 6),
                "metrics": {k: round(v, 6) for k, v in metrics.items()},
                "seconds": round(time.perf_counter() - t0, 2),
                "state": state,
            }
        )
        return value

    # Trial 0, the starting point, runs even if it lies outside the search space (user overrides).
    # disable=None: tqdm draws only on a terminal, so a log file or a pipe gets no bar fragments.
    bar = tqdm(total=max(trials, 1), desc="search", unit="trial", disable=None if progress else True, leave=False)
    start_value = record(0, start)
    bar.update(1)
    if trials > 1:
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(1, min(5, trials // 2)), multivariate=True)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        try:
            study.add_trial(
                optuna.trial.create_trial(
                    params={name: start.to_dict()[name] for name in SEARCH_SPACE},
                    distributions=_distributions(),
                    value=start_value,
                )
            )
        except ValueError:
            logger.info("Starting parameters lie outside the search space; TPE starts without them.")

        def objective_fn(trial) -> float:
            value = record(len(history), _suggest(trial))
            bar.update(1)
            return value

        remaining = None
        if timeout_s and timeout_s > 0:
            remaining = max(timeout_s - (time.perf_counter() - started), 0.001)
        study.optimize(objective_fn, n_trials=trials - 1, timeout=remaining, gc_after_trial=True)
    bar.close()
    winner = max(history, key=lambda h: (h["value"], -h["number"]))
    return SearchResult(
        best_params=SVDParams.from_dict(winner["params"]),
        best_value=winner["value"],
        objective=objective,
        trials=history,
        seconds=round(time.perf_counter() - started, 2),
        best_model=best["model"] if best["value"] == winner["value"] else None,
    )
