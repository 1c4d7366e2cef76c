"""Recommendation endpoints and the health check."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .model_store import model_store


class HealthApi(APIView):
    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["ok", "model_not_ready"])
        songs_indexed = serializers.IntegerField()
        model_version = serializers.CharField(allow_null=True)
        detail = serializers.CharField(required=False)

    @extend_schema(responses={200: OutputSerializer, 503: OutputSerializer}, summary="Service and model status")
    def get(self, request):
        model = model_store.peek()
        if model is None:
            return Response(
                {
                    "status": "model_not_ready",
                    "songs_indexed": 0,
                    "model_version": None,
                    "detail": model_store.get_error(),
                    "code": "model_not_ready",
                },
                status=503,
            )
        return Response({"status": "ok", "songs_indexed": model.size, "model_version": model.version})
