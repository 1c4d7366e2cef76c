from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "like_count", "has_seeds", "date_joined", "is_staff")
    search_fields = ("username",)
    readonly_fields = ("onboarding_seeds", "likes_link")
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Listening", {"fields": ("onboarding_seeds", "likes_link")}))

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(like_total=Count("likes"))

    @admin.display(description="likes", ordering="like_total")
    def like_count(self, user: User):
        url = reverse("admin:likes_like_changelist") + f"?user__id__exact={user.pk}"
        return format_html('<a href="{}">{}</a>', url, user.like_total)

    @admin.display(description="likes")
    def likes_link(self, user: User):
        url = reverse("admin:likes_like_changelist") + f"?user__id__exact={user.pk}"
        return format_html('<a href="{}">Show this user\'s likes</a>', url)

    @admin.display(boolean=True, description="onboarded")
    def has_seeds(self, user: User) -> bool:
        return user.onboarding_seeds is not None
