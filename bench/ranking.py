"""Per-request cost of the served ranking (ml.served), stage by stage, in-process, one thread.

    .venv/bin/python bench/ranking.py --artifacts DIR [--requests 500] [--limit 10]

Loads the published model under DIR (what the server loads), replays cold-start requests made of
the stored test users' 5 seeds, and times each stage of `ml.served.recommend` separately: the
query vector, the FAISS search, the graph neighbours + features (`ml.candidates.candidate_set`
minus its FAISS call), the scorer, MMR + artist cap; then the whole `recommend` call and an
"Up next" request. Prints p50 / p90 / p99 in ms and saves bench/results/ranking.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from ml import artifacts
from ml.served import RankingModel, candidates_for, diversify, profile_query, recommend, up_next_query
from ml.two_stage import artist_codes_of


def percentiles(samples: list[float]) -> dict:
    values = np.asarray(samples) * 1000.0
    return {f"p{q}": round(float(np.percentile(values, q)), 3) for q in (50, 90, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--limit", type=int, default=10)
    args = parser.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)
    loaded = artifacts.load_published(args.artifacts)
    _, cases, _ = artifacts.load_evaluation_data(loaded.path)
    model = RankingModel(
        vectors=loaded.vectors,
        index=loaded.index,
        graph=loaded.graph,
        scorer=loaded.scorer,
        popularity=loaded.popularity,
        artist_codes=artist_codes_of(loaded.artists),
    )
    seeds = cases["next_song"].seeds
    seeds = seeds[np.arange(args.requests) % seeds.shape[0]]
    stages: dict[str, list[float]] = {
        k: [] for k in ("query", "faiss", "candidates+features", "scorer", "mmr+cap", "recommend", "up_next")
    }
    counts = []
    for request in seeds:
        t0 = time.perf_counter()
        query = profile_query(model, request)
        t1 = time.perf_counter()
        model.index.search(query.vector.reshape(1, -1), 200 + len(request))
        t2 = time.perf_counter()
        candidates = candidates_for(model, query, request, model.scorer.features)  # as served
        t3 = time.perf_counter()
        scores = model.scorer.score(candidates.features)
        order = np.lexsort((candidates.rows, -scores))
        t4 = time.perf_counter()
        diversify(
            model,
            query,
            candidates.rows[order],
            scores[order],
            limit=args.limit,
            banned=set(),
            avoided={int(r) for r in request},
        )
        t5 = time.perf_counter()
        recommend(model, query, limit=args.limit, avoided=request)
        t6 = time.perf_counter()
        recommend(model, up_next_query(model, int(request[0]), request[1:]), limit=args.limit, banned=request[:1])
        t7 = time.perf_counter()
        stages["query"].append(t1 - t0)
        stages["faiss"].append(t2 - t1)
        stages["candidates+features"].append((t3 - t2) - (t2 - t1))  # candidate_set runs its own FAISS search
        stages["scorer"].append(t4 - t3)
        stages["mmr+cap"].append(t5 - t4)
        stages["recommend"].append(t6 - t5)
        stages["up_next"].append(t7 - t6)
        counts.append(len(candidates))
    table = {name: percentiles(samples) for name, samples in stages.items()}
    print(
        f"Model {loaded.version}: {model.size} songs, index {loaded.manifest['index']['kind']}, scorer "
        f"{loaded.scorer.kind}; {len(seeds)} cold-start requests, limit {args.limit}, "
        f"candidates per request median {int(np.median(counts))} (max {max(counts)})"
    )
    print(f"{'stage':<22}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}")
    for name, cells in table.items():
        print(f"{name:<22}{cells['p50']:>10.3f}{cells['p90']:>10.3f}{cells['p99']:>10.3f}")
    document = {
        "model": {"version": loaded.version, "songs": model.size, "index": loaded.manifest["index"]["kind"]},
        "scorer": loaded.scorer.describe(),
        "requests": len(seeds),
        "limit": args.limit,
        "candidates": {"median": int(np.median(counts)), "max": int(max(counts))},
        "stages_ms": table,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
    }
    out = save_results(RESULTS_DIR / "ranking.json", document)
    print(f"Saved {out}")


if __name__ == "__main__":
    main()
