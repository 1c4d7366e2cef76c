"""What the recommendation side reports to /metrics: the model served, per-stage timings."""

from __future__ import annotations

from prometheus_client import REGISTRY


def sample(name: str, labels: dict | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_the_served_model_version_is_a_metric(api, served_model):
    assert api.get("/health").status_code == 200
    assert sample("spotify_model_info", {"version": served_model.version}) == 1.0
    assert sample("spotify_model_load_seconds") > 0
    assert f'spotify_model_info{{version="{served_model.version}"}} 1.0' in api.get("/metrics").content.decode()


def test_each_recommendation_request_records_its_total_and_every_stage(api, seed_ids):
    stages = ("total", "faiss", "candidates", "rerank", "mmr")
    count = "spotify_recommendation_stage_seconds_count"
    before = {stage: sample(count, {"endpoint": "cold_start", "stage": stage}) for stage in stages}
    response = api.post("/recommendations/cold-start", {"seeds": seed_ids[:3], "limit": 5}, format="json")
    assert response.status_code == 200
    after = {stage: sample(count, {"endpoint": "cold_start", "stage": stage}) for stage in stages}
    assert after["total"] == before["total"] + 1
    for stage in stages[1:]:
        assert after[stage] > before[stage], stage
    similar = {"endpoint": "similar", "stage": "faiss"}
    before = sample("spotify_recommendation_stage_seconds_count", similar)
    api.post("/recommendations/similar", {"song": seed_ids[0]}, format="json")
    assert sample("spotify_recommendation_stage_seconds_count", similar) > before
