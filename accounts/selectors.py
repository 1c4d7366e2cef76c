"""Reads of account data."""

from __future__ import annotations

from .models import User


def user_seeds_get(*, user: User) -> list[str] | None:
    """The user's stored onboarding seeds, or None if onboarding has not happened yet."""
    return User.objects.filter(pk=user.pk).values_list("onboarding_seeds", flat=True).first()
