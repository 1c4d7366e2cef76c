"""Writes of account data: signup, credential checks, token issue, onboarding seeds."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.tokens import AccessToken

from core.exceptions import ApplicationError

from .models import User

INCORRECT_CREDENTIALS = "Incorrect username or password"


class InvalidSignupError(ApplicationError):
    code = "invalid"


def user_create(*, username: str, password: str) -> User:
    """Create a user, enforcing case-insensitive unique usernames and Django's password validators."""
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidSignupError(
            "Username already registered.", code="username_taken", extra={"errors": {"username": ["taken"]}}
        )
    candidate = User(username=username)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise InvalidSignupError(
            "Password rejected: " + " ".join(exc.messages),
            code="weak_password",
            extra={"errors": {"password": exc.messages}},
        ) from None
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:  # lost a race with a concurrent signup of the same name
        raise InvalidSignupError(
            "Username already registered.", code="username_taken", extra={"errors": {"username": ["taken"]}}
        ) from None
    return candidate


def user_authenticate(*, username: str, password: str) -> User:
    user = authenticate(username=username, password=password)
    if user is None:
        # Usernames are unique case-insensitively, so let people log in whatever case they type.
        stored = User.objects.filter(username__iexact=username).values_list("username", flat=True).first()
        if stored and stored != username:
            user = authenticate(username=stored, password=password)
    if user is None:
        raise ApplicationError(INCORRECT_CREDENTIALS, code="invalid_credentials")
    return user


def access_token_issue(*, user: User) -> dict[str, str]:
    return {"access_token": str(AccessToken.for_user(user)), "token_type": "bearer"}


def user_seeds_store_once(*, user: User, song_ids: list[str]) -> list[str]:
    """Store onboarding seeds unless some are stored already; return the seeds that are in force.

    One conditional UPDATE, so two concurrent first calls cannot both win.
    """
    User.objects.filter(pk=user.pk, onboarding_seeds__isnull=True).update(onboarding_seeds=list(song_ids))
    stored = User.objects.filter(pk=user.pk).values_list("onboarding_seeds", flat=True).get()
    user.onboarding_seeds = stored
    return stored
