from django.db import models


class Song(models.Model):
    """A catalog song. Rows are published from a trained model (build_index) and never deleted.

    ``is_available`` is False for songs a retrain dropped: they stay so likes keep pointing at
    them, but search and recommendations only show songs the current model knows.
    """

    song_id = models.CharField(max_length=512, unique=True, help_text='Display key "Artist - Track".')
    artist = models.CharField(max_length=255)
    title = models.CharField(max_length=255)
    album = models.CharField(max_length=255, blank=True, default="")
    preview_url = models.URLField(max_length=1024, blank=True, default="")
    cover_url = models.URLField(max_length=1024, blank=True, default="")
    popularity = models.PositiveIntegerField(default=0, help_text="Distinct listeners in the training data.")
    match_key = models.CharField(
        max_length=512, db_index=True, help_text="song_key(artist, title): resolves client-sent names."
    )
    search_key = models.CharField(
        max_length=512, db_index=True, help_text='normalise(artist) + " " + normalise(title): search text.'
    )
    title_key = models.CharField(max_length=255, db_index=True, help_text="normalise(title).")
    is_available = models.BooleanField(default=True)
    model_version = models.CharField(max_length=64, blank=True, default="", help_text="Last model that had it.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["is_available", "-popularity"], name="catalog_song_avail_pop"),
            # Search walks this in order for common terms (catalog.selectors._tier).
            models.Index(
                fields=["-popularity", "song_id"],
                condition=models.Q(is_available=True),
                name="catalog_song_search_order",
            ),
        ]

    def __str__(self) -> str:
        return self.song_id
