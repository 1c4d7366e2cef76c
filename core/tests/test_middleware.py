"""Sessions, CSRF, auth and messages run for the admin only; the JSON API goes without them."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_admin_keeps_sessions_and_csrf(django_user_model):
    django_user_model.objects.create_superuser("admin", password="admin-pass-123")
    browser = Client(enforce_csrf_checks=True)
    form = browser.get("/admin/login/")
    assert form.status_code == 200
    token = form.cookies["csrftoken"].value
    refused = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "admin", "password": "x"})
    assert refused.status_code == 403  # no CSRF token: refused
    login = browser.post(
        "/admin/login/?next=/admin/",
        {"username": "admin", "password": "admin-pass-123", "csrfmiddlewaretoken": token},
    )
    assert login.status_code == 302
    assert "sessionid" in login.cookies
    assert browser.get("/admin/").status_code == 200  # the session signs the next request in


def test_api_requests_set_no_cookies_and_vary_on_nothing_cookie_related(api, make_user, client_for):
    for response in (
        api.get("/health"),
        api.get("/catalog/search", {"q": "x"}),
        client_for(make_user()).get("/me/seeds"),
    ):
        assert not response.cookies
        assert "Cookie" not in response.get("Vary", "")
        assert response["X-Frame-Options"] == "DENY"  # clickjacking protection stays global


def test_api_posts_need_no_csrf_token_even_with_a_session_cookie(make_user):
    user = make_user()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)  # a stale admin session cookie must not make the API demand CSRF
    response = browser.post(
        "/auth/login", {"username": user.username, "password": "correct-horse-battery"}, content_type="application/json"
    )
    assert response.status_code == 200
