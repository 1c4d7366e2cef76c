"""The normalised keys a Song row carries, all derived from ml.text (the one normalisation)."""

from __future__ import annotations

from ml.text import normalise, song_key


def song_keys(*, artist: str, title: str) -> dict[str, str]:
    artist_key, title_key = normalise(artist), normalise(title)
    return {
        "match_key": song_key(artist, title),
        "search_key": f"{artist_key} {title_key}".strip(),
        "title_key": title_key,
    }
