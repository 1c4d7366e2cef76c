from django.urls import path

from .apis import LikesListApi, LikeToggleApi

urlpatterns = [
    path("likes", LikesListApi.as_view(), name="likes-list"),
    path("likes/toggle", LikeToggleApi.as_view(), name="likes-toggle"),
]
