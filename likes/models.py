from django.conf import settings
from django.db import models


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    # PROTECT: songs are retired, never deleted, so a like can always show what was liked.
    song = models.ForeignKey("catalog.Song", on_delete=models.PROTECT, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "song"], name="likes_like_user_song_unique")]
        indexes = [models.Index(fields=["user", "-created_at"], name="likes_like_user_newest")]

    def __str__(self) -> str:
        return f"{self.user} likes {self.song}"
