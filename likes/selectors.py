"""Reads of likes."""

from __future__ import annotations

from accounts.models import User

from .models import Like


def user_liked_song_ids(*, user: User) -> list[str]:
    """The song_ids a user liked, newest first (retired songs included: the like still exists)."""
    return list(Like.objects.filter(user=user).order_by("-created_at", "-id").values_list("song__song_id", flat=True))
