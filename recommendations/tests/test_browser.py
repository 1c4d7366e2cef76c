"""The whole product in a real browser: Debian's Chromium driven by Playwright, against a live server.

One journey, at desktop width and at phone width (390 px): sign up -> search -> pick seeds (with
the duplicate and 6th-seed messages) -> recommendations -> like a song (it joins "Your likes" and
leaves the recommendations) -> Up next -> log out and back in, landing on home. Any console error
or failed request fails the test, and so does a page wider than the phone's screen. A screenshot
of every step is saved under test-output/browser/<width>/ (gitignored): look at them.

Chromium comes from Debian (``apt-get install -y chromium``); Playwright cannot download browsers
here. Without it these tests are skipped with that instruction on a developer machine, and fail
in CI (``.ci/run`` sets BROWSER_TESTS=required and installs Chromium first).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import DEFAULT_PASSWORD

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Flags for a root, headless, offline machine: without the background-networking ones Chromium
# keeps trying to reach Google's services, which this network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
INSTALL_HINT = "Chromium is missing at {path}: install it with `apt-get update && apt-get install -y chromium`."
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone-390": {"width": 390, "height": 844}}

pytestmark = pytest.mark.browser


def _unavailable(reason: str):
    if os.environ.get("BROWSER_TESTS") == "required":
        pytest.fail(reason + " (BROWSER_TESTS=required: the browser tests must run here).", pytrace=False)
    pytest.skip(reason + " The browser tests run in .ci/run, which installs it.")


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        _unavailable(INSTALL_HINT.format(path=CHROMIUM))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: run `make setup` (it is in requirements-dev.txt).")
    # Playwright's sync API runs an event loop in this thread; Django refuses database calls from
    # a thread with a running loop unless told the calls are deliberate (they are: fixtures).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


class Journey:
    """A page plus the checks made after every step: no console error, no failed request, no
    sideways scrolling; and a screenshot named after the step."""

    def __init__(self, page, base_url: str, folder: Path) -> None:
        self.page, self.base_url, self.folder = page, base_url, folder
        self.problems: list[str] = []
        self.steps = 0
        page.on("console", lambda msg: msg.type == "error" and self.problems.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("requestfailed", lambda req: self.problems.append(f"request failed: {req.url} {req.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def step(self, name: str) -> None:
        self.page.wait_for_load_state("networkidle")
        self.steps += 1
        self.page.screenshot(path=str(self.folder / f"{self.steps:02d}-{name}.png"), full_page=True)
        assert self.problems == [], f"after step {name!r}: {self.problems}"
        overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"after step {name!r} the page is {overflow}px wider than the window"


def _add_seed(journey: Journey, song: dict) -> None:
    page = journey.page
    page.get_by_label("Search by artist or title").fill(song["title"])
    button = page.get_by_role("button", name=f"Add as a seed: {song['title']} by {song['artist']}", exact=True)
    button.click()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_whole_journey_in_chromium(viewport, chromium, live_server, served_model, seed_ids, transactional_db):
    from playwright.sync_api import expect

    items = {item["song_id"]: item for item in served_model.items}
    picks = [items[song_id] for song_id in seed_ids[:6]]
    folder = OUTPUT / viewport
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    context = chromium.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    journey = Journey(page, live_server.url, folder)
    username = f"browser-{viewport}"

    # Sign up: a new account goes to onboarding.
    journey.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_role("link", name="Create an account").click()
    journey.step("signup-form")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/welcome$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pick 3 to 5 songs")
    journey.step("onboarding")

    # Search as you type, then pick seeds with visible feedback.
    page.get_by_label("Search by artist or title").fill(picks[0]["artist"])
    expect(page.locator("#search-results .song").first).to_be_visible()
    expect(page.locator("#search-status")).to_contain_text("match")
    journey.step("search-results")
    status = page.locator("#seed-status")
    for number, song in enumerate(picks[:5], start=1):
        _add_seed(journey, song)
        expect(status).to_contain_text(f"Added {song['title']} by {song['artist']}. {number} of 5 seeds")
    expect(page.locator("#seed-count")).to_have_text("5 of 5")
    _add_seed(journey, picks[4])
    expect(status).to_contain_text("is already one of your seeds")
    _add_seed(journey, picks[5])
    expect(status).to_contain_text("You already have 5 seeds, the most allowed")
    journey.step("sixth-seed-refused")
    # Remove a seed from the keyboard.
    page.get_by_role("button", name=f"Remove seed {picks[4]['title']} by {picks[4]['artist']}").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#seed-count")).to_have_text("4 of 5")
    expect(status).to_contain_text("Removed")
    journey.step("seeds-picked")

    page.get_by_role("button", name="Get recommendations").click()
    expect(page.get_by_role("heading", name="You might like")).to_be_focused()
    expect(page.locator("#picker")).to_be_hidden()
    expect(page.locator("#ymal-list .song").first).to_be_visible()
    journey.step("you-might-like")

    # Home: shelves; like a song, it moves to "Your likes" and leaves every recommendation list.
    page.get_by_role("link", name="Continue to your home").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("For you")
    expect(page.locator(".shelf").first).to_be_visible()
    expect(page.locator("#likes-empty")).to_be_visible()
    journey.step("home")
    first = page.locator(".shelf .song").first
    liked_id, liked_title = first.get_attribute("data-song-id"), first.get_attribute("data-title")
    first.get_by_role("button", name=re.compile("^Like ")).click()
    liked_row = page.locator("#likes-list .song").first
    expect(liked_row).to_have_attribute("data-song-id", liked_id)
    expect(liked_row.get_by_role("button", name=re.compile("^Like "))).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f'.recommendations .song[data-song-id="{_css(liked_id)}"]')).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text(f"Liked {liked_title}")
    journey.step("liked")
    page.reload()
    expect(page.locator("#likes-list .song").first).to_have_attribute("data-song-id", liked_id)
    expect(page.locator(f'.recommendations .song[data-song-id="{_css(liked_id)}"]')).to_have_count(0)

    # Up next from a shelf song: a queue that leaves out the liked song.
    second = page.locator(".shelf .song").nth(1)
    second_title = second.get_attribute("data-title")
    second.get_by_role("button", name=re.compile("^Up next after ")).click()
    expect(page.locator("#up-next-heading")).to_have_text(f"Up next after {second_title}")
    expect(page.locator("#up-next-list .song").first).to_be_visible()
    expect(page.locator(f'#up-next-list .song[data-song-id="{_css(liked_id)}"]')).to_have_count(0)
    expect(page.locator("#up-next-heading")).to_be_focused()
    journey.step("up-next")

    # Unlike from "Your likes": the state toggles in place, without a reload.
    page.locator("#likes-list .song").first.get_by_role("button", name=re.compile("^Like ")).click()
    expect(page.locator("#likes-list .song").first.get_by_role("button", name=re.compile("^Like "))).to_have_attribute(
        "aria-pressed", "false"
    )
    journey.step("unliked")

    # Log out, log back in: a returning user lands on home, not onboarding.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    journey.step("logged-out")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect username or password")
    expect(page.get_by_text("You are logged out.")).to_have_count(0)
    journey.step("wrong-password")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("For you")
    journey.step("back-home")
    context.close()


def _css(value: str) -> str:
    """A string for a CSS attribute selector in double quotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"')
