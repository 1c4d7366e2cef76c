"""Recommendation endpoints and the health check: validate, call one service, serialize."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.covers import cached_cover_urls
from core.availability import cache_problem, database_problem
from core.metrics import recommendation_timer
from core.serializers import ErrorSerializer, RequestSerializer, StrictCharField

from .model_store import model_store
from .services import Rec, cold_start_recommend, shelves_recommend, similar_recommend

SONG_ID_MAX_CHARS = 512
DISTANCE_HELP = (
    "Cosine distance in the SVD embedding space between the song's vector and the request's query vector "
    "(1 - cosine similarity, in [0, 2]); smaller is closer. The list's order comes from the re-ranker (which "
    "also weighs the item graph, popularity and the artist) and from MMR diversity, so distances along a list "
    "need not increase. For the no-profile 'For you' shelf the query is the catalog's popularity-weighted "
    "centroid."
)

# A web form sends an unfilled field as `seed=`: empty means "no seed", here and in the schema.
SEED_HELP = "Optional extra seed song; empty is the same as absent."


class RecSerializer(serializers.Serializer):
    song_id = serializers.CharField()
    title = serializers.CharField()
    artist = serializers.CharField()
    cover_url = serializers.CharField(allow_null=True, help_text="From the cover cache; null until known.")
    distance = serializers.FloatField(help_text=DISTANCE_HELP)


class RecsOutputSerializer(serializers.Serializer):
    results = RecSerializer(many=True)
    seed_count = serializers.IntegerField(help_text="How many seed songs shaped the results.")


def recs_payload(recs: list[Rec], covers: dict) -> list[dict]:
    return [
        {
            "song_id": rec.song_id,
            "title": rec.title,
            "artist": rec.artist,
            "cover_url": covers.get((rec.artist, rec.title)),
            "distance": rec.distance,
        }
        for rec in recs
    ]


def _covers_for(recs: list[Rec]) -> dict:
    return cached_cover_urls((rec.artist, rec.title) for rec in recs)


def _signed_in(request):
    return request.user if request.user.is_authenticated else None


COMMON_ERRORS = {
    400: ErrorSerializer,
    401: OpenApiResponse(ErrorSerializer, description="A bearer token was sent but is invalid or expired."),
    404: ErrorSerializer,
    503: OpenApiResponse(ErrorSerializer, description="No model is loaded (code model_not_ready)."),
}


class ColdStartApi(APIView):
    class InputSerializer(RequestSerializer):
        seeds = serializers.ListField(child=StrictCharField(max_length=SONG_ID_MAX_CHARS), min_length=1, max_length=10)
        limit = serializers.IntegerField(min_value=1, max_value=50, default=10)

    @extend_schema(
        request=InputSerializer,
        responses={200: RecsOutputSerializer, **COMMON_ERRORS},
        summary="'You might like' from 1-10 seed songs (onboarding)",
        description="Bearer token optional. A signed-in user's stored seeds win over the payload; the first "
        "call stores the payload's known seeds. Unknown seeds are skipped; if none is known: 404 with "
        "`unknown` listing them. Likes join the seeds with weight LIKED_WEIGHT and are never returned.",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with recommendation_timer("cold_start"):
            recs, seed_count = cold_start_recommend(user=_signed_in(request), **data.validated_data)
        return Response({"results": recs_payload(recs, _covers_for(recs)), "seed_count": seed_count})


class SimilarApi(APIView):
    class InputSerializer(RequestSerializer):
        song = StrictCharField(max_length=SONG_ID_MAX_CHARS)
        limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
        seed = StrictCharField(
            max_length=SONG_ID_MAX_CHARS, required=False, allow_null=True, allow_blank=True, help_text=SEED_HELP
        )

    @extend_schema(
        request=InputSerializer,
        responses={200: RecsOutputSerializer, **COMMON_ERRORS},
        summary="'Up next' after a song",
        description="Target = normalise(0.78 x current song + 0.22 x profile), where the profile is the "
        "optional `seed` plus a signed-in user's stored seeds and likes; without a profile, the current "
        "song alone. Never returns the current song, a seed or a liked song.",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with recommendation_timer("similar"):
            recs, seed_count = similar_recommend(user=_signed_in(request), **data.validated_data)
        return Response({"results": recs_payload(recs, _covers_for(recs)), "seed_count": seed_count})


class ShelfSerializer(serializers.Serializer):
    label = serializers.CharField()
    seed_used = serializers.CharField(allow_null=True)
    items = RecSerializer(many=True)


class CategoriesApi(APIView):
    class QuerySerializer(RequestSerializer):
        seed = StrictCharField(max_length=SONG_ID_MAX_CHARS, required=False, allow_blank=True, help_text=SEED_HELP)
        limit = serializers.IntegerField(min_value=1, max_value=50, default=8)

    class OutputSerializer(serializers.Serializer):
        buckets = ShelfSerializer(many=True)

    @extend_schema(
        parameters=[QuerySerializer],
        responses={200: OutputSerializer, **COMMON_ERRORS},
        summary="'For you' shelves",
        description="With a profile (the `seed` parameter, a signed-in user's stored seeds and likes): "
        "'Because you like <seed>', 'More from your vibe', 'Fresh mix'. Without one: a single 'For you' "
        "shelf of popular songs. `limit` is per shelf. No song appears on two shelves.",
    )
    def get(self, request):
        params = self.QuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        with recommendation_timer("categories"):
            shelves = shelves_recommend(
                user=_signed_in(request), seed=params.validated_data.get("seed"), limit=params.validated_data["limit"]
            )
        covers = _covers_for([rec for shelf in shelves for rec in shelf.items])
        return Response(
            {
                "buckets": [
                    {"label": shelf.label, "seed_used": shelf.seed_used, "items": recs_payload(shelf.items, covers)}
                    for shelf in shelves
                ]
            }
        )


class HealthApi(APIView):
    public_endpoint = True

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["ok", "model_not_ready"])
        songs_indexed = serializers.IntegerField()
        model_version = serializers.CharField(allow_null=True)
        code = serializers.CharField(required=False, help_text="model_not_ready when no model is loaded.")
        detail = serializers.CharField(required=False)

    @extend_schema(
        responses={200: OutputSerializer, 503: OutputSerializer},
        summary="Liveness: the process answers, and which model it serves",
        description="Cheap and dependency-free (no database or cache round trip), so a load balancer "
        "may call it often. Whether the database and cache answer is `/health/ready`.",
    )
    def get(self, request):
        model = model_store.peek()
        if model is None:
            return Response(
                {
                    "status": "model_not_ready",
                    "code": "model_not_ready",
                    "songs_indexed": 0,
                    "model_version": None,
                    "detail": model_store.get_error(),
                },
                status=503,
            )
        return Response({"status": "ok", "songs_indexed": model.size, "model_version": model.version})


class ReadinessPartSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField(allow_null=True, help_text="Why the part is not ready; null when it is.")


class HealthReadyApi(APIView):
    """Readiness: the model is loaded and the database and cache answer (one cheap probe each)."""

    public_endpoint = True

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["ready", "not_ready"])
        code = serializers.CharField(required=False, help_text="not_ready when any part is down.")
        detail = serializers.CharField(required=False, help_text="Names the parts that are down.")
        down = serializers.ListField(child=serializers.ChoiceField(choices=["model", "database", "cache"]))
        model = ReadinessPartSerializer()
        database = ReadinessPartSerializer()
        cache = ReadinessPartSerializer()

    @extend_schema(
        responses={200: OutputSerializer, 503: OutputSerializer},
        summary="Readiness: model loaded, database and cache answering",
        description="200 when every part answers; 503 with `down` naming the parts that do not "
        '(e.g. `["database"]`). The service keeps running while a part is down and recovers by '
        "itself when it returns; what still works meanwhile is in docs/SECURITY.md.",
    )
    def get(self, request):
        model = model_store.peek()
        problems = {
            "model": None if model is not None else (model_store.get_error() or "No model is loaded."),
            "database": database_problem(),
            "cache": cache_problem(),
        }
        down = [part for part, problem in problems.items() if problem]
        body = {
            "status": "not_ready" if down else "ready",
            "down": down,
            **{part: {"ok": problem is None, "detail": problem} for part, problem in problems.items()},
        }
        if down:
            body.update(code="not_ready", detail=f"Not ready: {', '.join(down)} down.")
        return Response(self.OutputSerializer(body).data, status=503 if down else 200)
