from django.urls import path

from .apis import CatalogSearchApi, CoverApi

urlpatterns = [
    path("catalog/search", CatalogSearchApi.as_view(), name="catalog-search"),
    # The original client's /search asked an external service; we answer from the catalog.
    path("search", CatalogSearchApi.as_view(), name="search"),
    path("cover", CoverApi.as_view(), name="cover"),
]
