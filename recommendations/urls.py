from django.urls import path

from .apis import CategoriesApi, ColdStartApi, HealthApi, HealthReadyApi, SimilarApi

urlpatterns = [
    path("health", HealthApi.as_view(), name="health"),
    path("health/ready", HealthReadyApi.as_view(), name="health-ready"),
    path("recommendations/cold-start", ColdStartApi.as_view(), name="recommendations-cold-start"),
    path("recommendations/similar", SimilarApi.as_view(), name="recommendations-similar"),
    path("recommendations/categories", CategoriesApi.as_view(), name="recommendations-categories"),
]
