from django.contrib import admin

from .models import Like


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin):
    list_display = ("user", "song", "created_at")
    list_filter = (("created_at", admin.DateFieldListFilter),)
    search_fields = ("user__username", "song__song_id")
    autocomplete_fields = ("user", "song")
    list_select_related = ("user", "song")
    date_hierarchy = "created_at"
