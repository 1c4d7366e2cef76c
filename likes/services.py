"""Writes of likes."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from catalog.models import Song
from catalog.selectors import song_resolve
from core.exceptions import NotFoundError

from .models import Like


def _retired_song_liked_by(*, user: User, song_id: str) -> Song | None:
    """A retrain may retire a liked song; its like can still be removed by its exact song_id."""
    return Song.objects.filter(song_id=song_id, likes__user=user).first()


def like_toggle(*, user: User, song_id: str) -> bool:
    """Like the song if not liked yet, else unlike it; return whether it is liked now.

    Toggles of one user run one at a time (the user's row is locked), so N concurrent toggles
    end in the state their parity says, and the unique (user, song) constraint is never hit.
    """
    song = song_resolve(song_id=song_id) or _retired_song_liked_by(user=user, song_id=song_id)
    if song is None:
        raise NotFoundError(f"Unknown song: {song_id!r} is not in the catalog.", code="unknown_song")
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).get()
        deleted, _ = Like.objects.filter(user=user, song=song).delete()
        if deleted:
            return False
        Like.objects.create(user=user, song=song)
        return True
