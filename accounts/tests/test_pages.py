"""The web pages' sign up, log in and log out: a Django session, never a token in the page."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, override_settings

from conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_signup_page_starts_a_session_and_sends_a_new_user_to_onboarding(client):
    response = client.post("/signup", {"username": "newbie", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/")["Location"] == "/welcome"
    session_cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"] == "Lax"
    assert b"access_token" not in response.content


def test_signup_page_shows_the_rule_that_failed_in_words(client, make_user):
    make_user("taken")
    response = client.post("/signup", {"username": "TAKEN", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert "Username already registered." in response.content.decode()
    weak = client.post("/signup", {"username": "someone", "password": "12345678"})
    assert "Password rejected:" in weak.content.decode()
    assert "This password is entirely numeric." in weak.content.decode()
    short = client.post("/signup", {"username": "ab", "password": DEFAULT_PASSWORD})
    page = short.content.decode()
    assert 'aria-invalid="true" aria-describedby="username-error"' in page
    assert "Ensure this value has at least 3 characters" in page


def test_login_page_wrong_password_then_right_one_goes_to_next(client, make_user):
    make_user("alice")
    wrong = client.post("/login", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200
    assert "Incorrect username or password" in wrong.content.decode()
    right = client.post("/login?next=/model", {"username": "ALICE", "password": DEFAULT_PASSWORD, "next": "/model"})
    assert right["Location"] == "/model"


def test_login_page_never_redirects_to_another_site(client, make_user):
    make_user("alice")
    response = client.post(
        "/login", {"username": "alice", "password": DEFAULT_PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_logout_is_post_only_and_ends_the_session_on_the_server(client, make_user):
    client.force_login(make_user("alice"))
    assert client.get("/logout").status_code == 405  # a link or an image elsewhere cannot log you out
    response = client.post("/logout")
    assert response["Location"] == "/login?logged_out=1"
    assert client.get("/likes").status_code == 401
    assert "You are logged out." in client.get(response["Location"]).content.decode()


def test_session_writes_to_the_api_need_the_csrf_token(make_user, publish_songs):
    publish_songs([("Artist", "Song", 5)])
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("alice"))
    refused = browser.post("/likes/toggle", {"song_id": "Artist - Song"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    page = browser.get("/welcome")  # every page sets the CSRF cookie
    token = page.cookies[settings.CSRF_COOKIE_NAME].value
    accepted = browser.post(
        "/likes/toggle", {"song_id": "Artist - Song"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.json() == {"liked": True}


@override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "2/minute"}})
def test_the_forms_share_the_api_throttle(make_user, api):
    make_user("alice")
    client = Client()
    for _ in range(2):
        api.post("/auth/login", {"username": "alice", "password": "nope"}, format="json")
    response = client.post("/login", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts from your address: try again in" in response.content.decode()


def test_pages_have_labelled_inputs_and_a_favicon(client):
    page = client.get("/signup").content.decode()
    assert '<label for="id_username">' in page
    assert 'id="id_username"' in page
    assert '<label for="id_password">' in page
    assert 'id="id_password"' in page
    assert 'rel="icon" href="/static/web/favicon.svg"' in page
    icon = client.get("/favicon.ico")
    assert icon.status_code == 302
    assert client.get(icon["Location"]).status_code == 200
