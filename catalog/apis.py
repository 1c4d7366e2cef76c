"""Catalog search and cover look-up."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import ErrorSerializer, RequestSerializer

from .covers import cached_cover_urls, cover_lookup
from .selectors import song_search


class SongSerializer(serializers.Serializer):
    song_id = serializers.CharField()
    title = serializers.CharField()
    artist = serializers.CharField()
    album = serializers.CharField(allow_blank=True)
    cover_url = serializers.CharField(allow_null=True)
    preview_url = serializers.CharField(allow_null=True)


def songs_payload(songs) -> list[dict]:
    covers = cached_cover_urls((song.artist, song.title) for song in songs if not song.cover_url)
    return [
        {
            "song_id": song.song_id,
            "title": song.title,
            "artist": song.artist,
            "album": song.album,
            "cover_url": song.cover_url or covers.get((song.artist, song.title)),
            "preview_url": song.preview_url or None,
        }
        for song in songs
    ]


class SearchQuerySerializer(RequestSerializer):
    q = serializers.CharField(min_length=1, max_length=100, trim_whitespace=False)
    limit = serializers.IntegerField(min_value=1, max_value=25, default=10)


class CatalogSearchApi(APIView):
    public_endpoint = True  # the same answer for everyone (core.schema.AutoSchema)

    @extend_schema(
        parameters=[SearchQuerySerializer],
        responses={200: SongSerializer(many=True), 400: ErrorSerializer},
        summary="Search the songs the model knows",
        description="Ranked exact > prefix > substring match on normalised artist/title, then popularity. "
        "Substring matches need at least 3 characters.",
    )
    def get(self, request):
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        songs = song_search(query=params.validated_data["q"], limit=params.validated_data["limit"])
        return Response(songs_payload(songs))


class CoverQuerySerializer(RequestSerializer):
    artist = serializers.CharField(min_length=1, max_length=255)
    track = serializers.CharField(min_length=1, max_length=255)


class CoverApi(APIView):
    public_endpoint = True

    class OutputSerializer(serializers.Serializer):
        cover_url = serializers.CharField(allow_null=True)

    @extend_schema(
        parameters=[CoverQuerySerializer],
        responses={200: OutputSerializer, 400: ErrorSerializer},
        summary="Cover art URL for a song (null when none is known)",
    )
    def get(self, request):
        params = CoverQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response({"cover_url": cover_lookup(**params.validated_data)})
