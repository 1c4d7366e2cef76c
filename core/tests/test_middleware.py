"""Sessions, CSRF, auth and messages run for the web pages, the admin and session-cookie requests;
bearer-token and anonymous API requests go without them."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

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


@pytest.mark.parametrize("page", ["home", "onboarding", "model", "signup", "login", "logout"])
def test_every_web_page_runs_the_cookie_layers(page):
    assert reverse(page) in settings.COOKIE_PATHS


def test_the_signup_page_sets_a_csrf_cookie_and_a_signed_in_page_reads_the_session(make_user):
    browser = Client(enforce_csrf_checks=True)
    assert "csrftoken" in browser.get("/signup").cookies
    browser.force_login(make_user())
    assert browser.get("/").url == "/welcome"  # signed in (no seeds yet), not sent to log in


def test_a_session_cookie_write_to_the_api_needs_the_csrf_token(make_user, publish_songs):
    publish_songs([("Artist", "Song", 1)])
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user())
    token = browser.get("/welcome").cookies["csrftoken"].value
    body = {"song_id": "Artist - Song"}
    refused = browser.post("/likes/toggle", body, content_type="application/json")
    assert refused.status_code == 403
    accepted = browser.post("/likes/toggle", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200, accepted.content
