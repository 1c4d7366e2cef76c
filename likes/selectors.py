"""Reads of likes."""

from __future__ import annotations

from accounts.models import User
from catalog.models import Song

from .models import Like


def user_liked_song_ids(*, user: User) -> list[str]:
    """The song_ids a user liked, newest first (retired songs included: the like still exists)."""
    return list(Like.objects.filter(user=user).order_by("-created_at", "-id").values_list("song__song_id", flat=True))


def user_liked_songs(*, user: User) -> list[Song]:
    """The songs a user liked, newest first (for the web page's "Your likes")."""
    return [like.song for like in Like.objects.filter(user=user).select_related("song").order_by("-created_at", "-id")]
