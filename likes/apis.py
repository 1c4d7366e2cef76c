"""Likes: list and toggle."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import ErrorSerializer, RequestSerializer, StrictCharField

from .selectors import user_liked_song_ids
from .services import like_toggle


class LikesListApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        likes = serializers.ListField(child=serializers.CharField(), help_text="song_ids, newest first.")

    @extend_schema(responses={200: OutputSerializer, 401: ErrorSerializer}, summary="The user's liked songs")
    def get(self, request):
        return Response({"likes": user_liked_song_ids(user=request.user)})


class LikeToggleApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(RequestSerializer):
        song_id = StrictCharField(max_length=512, help_text='A catalog song, "Artist - Track".')

    class OutputSerializer(serializers.Serializer):
        liked = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
        summary="Like a song, or unlike it if already liked",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"liked": like_toggle(user=request.user, **data.validated_data)})
