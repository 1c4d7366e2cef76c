"""The web pages' URLs (the API's are recommendations/urls.py)."""

from django.urls import path

from .views import home_page, model_page, onboarding_page

urlpatterns = [
    path("", home_page, name="home"),
    path("welcome", onboarding_page, name="onboarding"),
    path("model", model_page, name="model"),
]
