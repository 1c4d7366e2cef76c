"""The web pages' sign up, log in and log out (HTML forms; the JSON API is accounts.apis).

The browser keeps no bearer token: these views start a Django session (an HttpOnly, SameSite=Lax
cookie the page's scripts cannot read, CSRF-checked on every write, ended server-side on log-out),
and the pages' scripts call the JSON API with that session. Sign-up and log-in share the API's
``auth`` throttle bucket, so the form is no way around its rate limit.
"""

from __future__ import annotations

from types import SimpleNamespace

from django import forms
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import ApplicationError
from core.throttling import ScopedSettingsRateThrottle

from .services import user_authenticate, user_create

PASSWORD_HINT = "At least 8 characters, not a common password, not only digits, not like your username."


class CredentialsForm(forms.Form):
    username = forms.CharField(min_length=3, max_length=50)
    password = forms.CharField(min_length=4, max_length=128, strip=False, widget=forms.PasswordInput)


def _throttled(request: HttpRequest) -> str | None:
    """A sentence if this address used up its sign-up/log-in attempts (the API's ``auth`` rate)."""
    throttle = ScopedSettingsRateThrottle()
    if throttle.allow_request(request, SimpleNamespace(throttle_scope="auth")):
        return None
    return f"Too many attempts from your address: try again in {max(1, round(throttle.wait() or 1))} seconds."


def _safe_next(request: HttpRequest) -> str:
    """The page to return to after signing in, if it is one of ours (never another site)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


def _credentials_page(request: HttpRequest, *, template: str, act) -> HttpResponse:
    """GET shows the form; POST validates it, calls ``act(username, password)`` and signs the user in.

    A rejected form is shown again with its errors in words, as 200 (the usual answer for an HTML
    form, and no console error in the browser); only the throttle answers 429."""
    if request.user.is_authenticated and request.method == "GET":
        return redirect("home")
    form = CredentialsForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        problem = _throttled(request)
        if problem:
            form.add_error(None, problem)
            status = 429
        else:
            try:
                user = act(**form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect(_safe_next(request) or "home")
    context = {"form": form, "next": _safe_next(request), "password_hint": PASSWORD_HINT}
    return render(request, template, context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def signup_page(request: HttpRequest) -> HttpResponse:
    return _credentials_page(request, template="accounts/signup.html", act=user_create)


@require_http_methods(["GET", "HEAD", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    return _credentials_page(request, template="accounts/login.html", act=user_authenticate)


@require_POST
def logout_page(request: HttpRequest) -> HttpResponse:
    """POST only (with the CSRF token): a link or an image on another site cannot log anyone out."""
    logout(request)
    return redirect("/login?logged_out=1")
