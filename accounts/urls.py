from django.urls import path

from .apis import LoginApi, MySeedsApi, SignupApi

urlpatterns = [
    path("auth/signup", SignupApi.as_view(), name="auth-signup"),
    path("auth/login", LoginApi.as_view(), name="auth-login"),
    path("me/seeds", MySeedsApi.as_view(), name="me-seeds"),
]
