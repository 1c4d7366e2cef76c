from django.contrib import admin

from .models import Song


@admin.register(Song)
class SongAdmin(admin.ModelAdmin):
    list_display = ("song_id", "artist", "title", "popularity", "is_available", "model_version")
    list_filter = ("is_available",)
    search_fields = ("song_id", "search_key")
    readonly_fields = ("match_key", "search_key", "title_key", "model_version", "updated_at")
    ordering = ("-popularity", "song_id")
    show_full_result_count = False
