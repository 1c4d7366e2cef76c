"""Signup, login, tokens and onboarding seeds, through HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.services import user_seeds_store_once

pytestmark = pytest.mark.django_db

STRONG = "correct-horse-battery"


def signup(api, username="alice", password=STRONG):
    return api.post("/auth/signup", {"username": username, "password": password}, format="json")


def test_signup_returns_a_bearer_token_that_authenticates(api):
    response = signup(api)
    assert response.status_code == 201
    body = response.json()
    assert body["token_type"] == "bearer"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api.get("/me/seeds").json() == {"seeds": None}


def test_login_accepts_the_oauth2_password_form(api, make_user):
    make_user("bob")
    response = api.post(
        "/auth/login", "username=bob&password=" + STRONG, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"


def test_login_accepts_json_and_any_username_case(api, make_user):
    make_user("Carol")
    response = api.post("/auth/login", {"username": "carol", "password": STRONG}, format="json")
    assert response.status_code == 200


def test_wrong_password_is_a_400_with_the_contract_sentence(api, make_user):
    make_user("dave")
    response = api.post("/auth/login", {"username": "dave", "password": "nope-nope-nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Incorrect username or password"


def test_unknown_user_login_is_indistinguishable_from_wrong_password(api):
    response = api.post("/auth/login", {"username": "ghost", "password": STRONG}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Incorrect username or password"


def test_duplicate_username_ignoring_case_is_a_400(api):
    assert signup(api, "Erin").status_code == 201
    response = signup(api, "erin")
    assert response.status_code == 400
    assert response.json()["code"] == "username_taken"
    assert User.objects.filter(username__iexact="erin").count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"username": "ab", "password": STRONG}, "username"),
        ({"username": "x" * 51, "password": STRONG}, "username"),
        ({"username": "has space", "password": STRONG}, "username"),
        ({"username": "frank", "password": "abc"}, "password"),
        ({"username": "frank", "password": "p" * 129}, "password"),
        ({"username": "frank"}, "password"),
        ({"password": STRONG}, "username"),
        ({"username": ["frank"], "password": STRONG}, "username"),
        ({"username": "frank", "password": {"a": 1}}, "password"),
    ],
)
def test_signup_validation_errors_name_the_field(api, payload, field):
    response = api.post("/auth/signup", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]
    assert body["detail"].startswith("Invalid input")


def test_password_validators_raise_the_floor_and_say_why(api):
    response = signup(api, "grace", "1234")  # 4 chars passes the contract's length, not the validators
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "weak_password"
    assert "too short" in body["detail"]
    assert "8 characters" in body["detail"]
    assert not User.objects.filter(username="grace").exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("username=x", "text/plain"),
        ("[1, 2]", "application/json"),
        ("[" * 5000 + "]" * 5000, "application/json"),  # deeper than Python's json can follow
    ],
)
def test_malformed_bodies_are_4xx_json(api, body, content_type):
    response = api.post("/auth/signup", body, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert set(response.json()) >= {"detail", "code"}


def test_a_login_form_with_too_many_fields_is_a_400_json(api):
    fields = "&".join(f"f{n}=1" for n in range(150))
    response = api.post(
        "/auth/login", f"username=ivy&password=x&{fields}", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_oversized_body_is_refused_before_parsing(api):
    response = api.post("/auth/signup", {"username": "henry", "password": "x" * 100_000}, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_expired_token_is_a_401_even_where_auth_is_optional(api, make_user):
    token = AccessToken.for_user(make_user())
    token.set_exp(lifetime=-timedelta(seconds=1))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    for path in ("/me/seeds", "/health", "/catalog/search?q=abc"):
        response = api.get(path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "token_not_valid"


def test_tampered_token_is_a_401(api, make_user):
    token = str(AccessToken.for_user(make_user()))
    header, payload, signature = token.split(".")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {header}.{payload}.{signature[::-1]}")
    assert api.get("/me/seeds").status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert api.get("/catalog/search?q=abc").status_code == 401


def test_the_bearer_scheme_is_matched_in_any_case(api, make_user):
    token = AccessToken.for_user(make_user())
    for scheme in ("bearer", "BEARER", "Bearer"):
        api.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")
        assert api.get("/me/seeds").status_code == 200, scheme


@pytest.mark.parametrize("header", ["Bearer", "Bearer one two"])
def test_a_bearer_header_without_exactly_one_token_is_a_401_even_where_auth_is_optional(api, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    for path in ("/health", "/catalog/search?q=abc"):
        response = api.get(path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "bad_authorization_header"


def test_other_authorization_schemes_are_not_ours_and_count_as_no_token(api):
    """A reverse proxy using HTTP Basic auth forwards that header; it must not lock users out."""
    api.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert api.get("/catalog/search?q=abc").status_code == 200
    response = api.get("/me/seeds")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_signup_and_login_ignore_a_stale_token_the_client_still_sends(api, make_user):
    """A client that attaches its expired token to every request must still be able to log in."""
    user = make_user()
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.post("/auth/login", {"username": user.username, "password": STRONG}, format="json").status_code == 200
    assert api.post("/auth/signup", {"username": "newcomer", "password": STRONG}, format="json").status_code == 201


@pytest.mark.parametrize(
    "claims",
    [
        {"user_id": "abc"},
        {"user_id": "1\x00"},
        {"user_id": [1]},
        {"user_id": {"id": 1}},
        {"user_id": True},
        {"exp": 10**17},  # datetime.fromtimestamp: OSError
        {"exp": 10**30},  # OverflowError
        {"exp": 1e308},
    ],
)
def test_a_correctly_signed_token_with_malformed_claims_is_a_401(api, make_user, claims):
    token = AccessToken.for_user(make_user())
    for claim, value in claims.items():
        token[claim] = value
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    for path in ("/me/seeds", "/health"):
        response = api.get(path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "token_not_valid"


def test_token_of_a_deleted_user_is_a_401(api, make_user, client_for):
    user = make_user()
    client = client_for(user)
    user.delete()
    assert client.get("/me/seeds").status_code == 401


def test_missing_token_on_a_protected_endpoint_is_a_401(api):
    response = api.get("/me/seeds")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_token_lifetime_follows_token_expire_hours(make_user):
    token = AccessToken.for_user(make_user())
    assert token["exp"] - token["iat"] == 24 * 3600


def test_seeds_are_stored_once(make_user, client_for):
    user = make_user()
    assert user_seeds_store_once(user=user, song_ids=["A - One", "B - Two", "C - Three"]) == [
        "A - One",
        "B - Two",
        "C - Three",
    ]
    assert user_seeds_store_once(user=user, song_ids=["D - Four"]) == ["A - One", "B - Two", "C - Three"]
    assert client_for(user).get("/me/seeds").json() == {"seeds": ["A - One", "B - Two", "C - Three"]}


@override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "3/minute"}})
def test_auth_endpoints_are_throttled_with_retry_after(api):
    for _ in range(3):
        api.post("/auth/login", {"username": "ivy", "password": STRONG}, format="json")
    response = api.post("/auth/login", {"username": "ivy", "password": STRONG}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"


@override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "3/minute"}})
def test_a_forged_x_forwarded_for_does_not_escape_the_throttle(api):
    for n in range(3):
        api.post(
            "/auth/login", {"username": "ivy", "password": STRONG}, format="json", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        )
    response = api.post(
        "/auth/login", {"username": "ivy", "password": STRONG}, format="json", HTTP_X_FORWARDED_FOR="10.0.0.99"
    )
    assert response.status_code == 429
