"""Writes to the catalog: publishing a trained model's songs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from .keys import song_keys
from .models import Song

PUBLISH_BATCH_ROWS = 2000


@transaction.atomic
def catalog_publish(*, items: Sequence[dict[str, Any]], model_version: str) -> dict[str, int]:
    """Make the catalog match a model's items, in one transaction.

    Songs in ``items`` are inserted or updated (one upsert per batch); songs no longer in the
    model are marked unavailable, never deleted, so likes that point at them survive a retrain.
    Cover and preview URLs already on a row are kept.
    """
    before = set(Song.objects.values_list("song_id", flat=True))
    rows = [
        Song(
            song_id=item["song_id"],
            artist=item["artist"],
            title=item["title"],
            popularity=int(item.get("popularity", 0)),
            is_available=True,
            model_version=model_version,
            **song_keys(artist=item["artist"], title=item["title"]),
        )
        for item in items
    ]
    Song.objects.bulk_create(
        rows,
        batch_size=PUBLISH_BATCH_ROWS,
        update_conflicts=True,
        unique_fields=["song_id"],
        update_fields=[
            "artist",
            "title",
            "popularity",
            "is_available",
            "model_version",
            "match_key",
            "search_key",
            "title_key",
            "updated_at",
        ],
    )
    retired = Song.objects.filter(is_available=True).exclude(model_version=model_version).update(is_available=False)
    created = sum(1 for row in rows if row.song_id not in before)
    return {"created": created, "updated": len(rows) - created, "retired": retired}
