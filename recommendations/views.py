"""The web pages: onboarding, home (shelves, Up next, likes) and the staff model page.

Server-rendered; the pages' scripts (static/web/app.js) call the JSON API with the session the
log-in page started (see accounts/views.py), so there is one implementation of every rule.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime

from accounts.selectors import user_seeds_get
from catalog.covers import cached_cover_urls
from core.exceptions import ApplicationError
from likes.selectors import user_liked_songs

from .model_report import bar_chart, metric_tables
from .model_store import model_store
from .services import shelves_recommend

SHELF_SONGS = 8
MIN_SEEDS, MAX_SEEDS = 3, 5


def _song_rows(songs, covers: dict) -> list[dict]:
    """What a song row shows (templates/_song.html), for recommendations and Song rows alike."""
    return [
        {"song_id": s.song_id, "title": s.title, "artist": s.artist, "cover_url": covers.get((s.artist, s.title))}
        for s in songs
    ]


@login_required
def home_page(request: HttpRequest) -> HttpResponse:
    """A returning user's home; someone who has not picked seeds yet goes to onboarding first."""
    if not user_seeds_get(user=request.user):
        return redirect("onboarding")
    problem = None
    try:
        shelves = shelves_recommend(user=request.user, seed=None, limit=SHELF_SONGS)
    except ApplicationError as exc:  # no model published yet (503): say so on the page
        shelves, problem = [], exc.detail
    liked = user_liked_songs(user=request.user)
    covers = cached_cover_urls([(rec.artist, rec.title) for shelf in shelves for rec in shelf.items])
    covers.update(cached_cover_urls([(song.artist, song.title) for song in liked]))
    context = {
        "shelves": [{"label": shelf.label, "songs": _song_rows(shelf.items, covers)} for shelf in shelves],
        "likes": _song_rows(liked, covers),
        "problem": problem,
    }
    return render(request, "home.html", context, status=503 if problem else 200)


@login_required
def onboarding_page(request: HttpRequest) -> HttpResponse:
    if user_seeds_get(user=request.user):
        return redirect("home")
    return render(request, "onboarding.html", {"min_seeds": MIN_SEEDS, "max_seeds": MAX_SEEDS})


@login_required
def model_page(request: HttpRequest) -> HttpResponse:
    """For staff: the published version, its data and its evaluation beside the baselines."""
    if not request.user.is_staff:
        return render(request, "forbidden.html", status=403)
    model = model_store.peek()
    manifest = model.manifest if model else {}
    tables = metric_tables(manifest.get("metrics", {}))
    context = {
        "model": model,
        "problem": None if model else model_store.get_error(),
        "manifest": manifest,
        "trained_at": parse_datetime(str(manifest.get("created_at", ""))),
        "data": manifest.get("data", {}),
        "counts": manifest.get("counts", {}),
        "tables": [{"table": table, "chart": bar_chart(table)} for table in tables],
    }
    return render(request, "model.html", context)
