/* spotify-redux web pages: a little vanilla JS, no build step.
 *
 * The page never holds a bearer token. It calls the JSON API with the session cookie the log-in
 * page set (HttpOnly: this script cannot read it) and sends Django's CSRF token with every write.
 */
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

const NETWORK_ERROR = "Could not reach the server. Check your connection and try again.";

/** Calls the JSON API; resolves to the body, or throws an Error whose message is a sentence. */
async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = $('meta[name="csrf-token"]').content;
  let response;
  try {
    response = await fetch(path, {
      method, headers, signal, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Error(NETWORK_ERROR);
  }
  const data = await response.json().catch(() => null);
  if (response.status === 401 || (response.status === 403 && data && /CSRF|credentials/i.test(data.detail || ""))) {
    throw new Error("Your session has ended. Reload the page and log in again.");
  }
  if (!response.ok) {
    throw new Error((data && data.detail) || `The server answered ${response.status}; try again in a moment.`);
  }
  return data;
}

let toastTimer = null;
/** A short message on screen, also read out by screen readers (the toast is a status region). */
function toast(message) {
  const box = $("#toast");
  box.textContent = message;
  box.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("show"), 4000);
}

const songName = (song) => `${song.title} by ${song.artist}`;

function songOf(row) {
  return { song_id: row.dataset.songId, title: row.dataset.title, artist: row.dataset.artist };
}

/** A song row cloned from the page's <template> (the same markup the server renders). */
function songRow(song, mode = "rec", liked = false) {
  const row = $(`#song-row-${mode}`).content.firstElementChild.cloneNode(true);
  row.dataset.songId = song.song_id;
  row.dataset.title = song.title;
  row.dataset.artist = song.artist;
  $(".title", row).textContent = song.title;
  $(".artist", row).textContent = song.artist;
  const placeholder = $(".cover", row);
  if (song.cover_url) {
    const img = document.createElement("img");
    Object.assign(img, { className: "cover", src: song.cover_url, alt: "", width: 48, height: 48, loading: "lazy" });
    placeholder.replaceWith(img);
  } else {
    placeholder.textContent = (song.artist || "?").charAt(0).toUpperCase();
  }
  for (const button of $$("button[data-label]", row)) {
    button.setAttribute("aria-label", `${button.dataset.label} ${songName(song)}`);
  }
  if (mode === "rec") setLiked(row, liked);
  return row;
}

function setLiked(row, liked) {
  const button = $('button[data-action="like"]', row);
  if (!button) return;
  button.setAttribute("aria-pressed", String(liked));
  $(".like-text", button).textContent = liked ? "Liked" : "Like";
}

/* ---------------------------------------------------------------- home: likes and Up next */

function rowsFor(songId, root = document) {
  return $$(".song", root).filter((row) => row.dataset.songId === songId);
}

/** After a row leaves a list, keep keyboard focus nearby (the next row, else the list's heading). */
function removeKeepingFocus(row) {
  const hadFocus = row.contains(document.activeElement);
  const next = row.nextElementSibling || row.previousElementSibling;
  const section = row.closest("section");
  row.remove();
  if (!hadFocus) return;
  const target = next ? $('button[data-action="like"]', next) : $("h2", section);
  if (target) {
    if (!target.hasAttribute("tabindex") && target.tagName === "H2") target.setAttribute("tabindex", "-1");
    target.focus();
  }
}

async function toggleLike(button) {
  const song = songOf(button.closest(".song"));
  button.disabled = true;
  try {
    const { liked } = await api("/likes/toggle", { method: "POST", body: { song_id: song.song_id } });
    for (const row of rowsFor(song.song_id)) setLiked(row, liked);
    const likesList = $("#likes-list");
    if (liked) {
      // A liked song leaves the recommendations (the API will not recommend it again) ...
      for (const row of $$(".recommendations .song").filter((r) => r.dataset.songId === song.song_id)) {
        removeKeepingFocus(row);
      }
      // ... and joins "Your likes", newest first.
      if (likesList && !rowsFor(song.song_id, likesList).length) {
        const cover = $("img.cover", button.closest(".song") || document.createElement("li"));
        likesList.prepend(songRow({ ...song, cover_url: cover ? cover.src : null }, "rec", true));
      }
      toast(`Liked ${songName(song)}. It is in Your likes.`);
    } else {
      toast(`Removed ${songName(song)} from Your likes.`);
    }
    if (likesList) $("#likes-empty").hidden = likesList.querySelector('[aria-pressed="true"]') !== null;
  } catch (error) {
    toast(`Could not change the like of ${songName(song)}: ${error.message}`);
  } finally {
    if (button.isConnected) button.disabled = false;
  }
}

async function upNext(button) {
  const song = songOf(button.closest(".song"));
  const status = $("#up-next-status");
  const list = $("#up-next-list");
  const heading = $("#up-next-heading");
  status.textContent = `Finding songs to play after ${songName(song)}…`;
  heading.scrollIntoView({ block: "start", behavior: "smooth" });
  try {
    const { results } = await api("/recommendations/similar", { method: "POST", body: { song: song.song_id, limit: 10 } });
    list.replaceChildren(...results.map((rec) => songRow(rec)));
    heading.textContent = `Up next after ${song.title}`;
    status.textContent = results.length
      ? `${results.length} songs to play after ${songName(song)}.`
      : `No songs to suggest after ${songName(song)}.`;
  } catch (error) {
    status.textContent = `Could not get Up next: ${error.message}`;
  }
  heading.focus({ preventScroll: true });
}

function setUpSongActions() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    if (button.dataset.action === "like") toggleLike(button);
    else if (button.dataset.action === "up-next") upNext(button);
  });
}

/* ---------------------------------------------------------------- onboarding */

function setUpOnboarding(root) {
  const MIN = Number(root.dataset.minSeeds);
  const MAX = Number(root.dataset.maxSeeds);
  const seeds = []; // songs, in the order picked
  const input = $("#search-input");
  const results = $("#search-results");
  const searchStatus = $("#search-status");
  const chips = $("#seed-chips");
  const seedStatus = $("#seed-status");
  const go = $("#get-recommendations");

  function say(message, tone = "") {
    seedStatus.textContent = message;
    seedStatus.className = `status ${tone}`;
  }

  function renderSeeds() {
    $("#seed-count").textContent = `${seeds.length} of ${MAX}`;
    if (!seeds.length) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "None yet: add songs from the search.";
      chips.replaceChildren(empty);
    } else {
      chips.replaceChildren(...seeds.map((song) => {
        const item = document.createElement("li");
        const chip = document.createElement("button");
        chip.type = "button";
        chip.className = "chip";
        chip.textContent = song.title;
        chip.title = songName(song);
        chip.setAttribute("aria-label", `Remove seed ${songName(song)}`);
        chip.addEventListener("click", () => removeSeed(song));
        item.append(chip);
        return item;
      }));
    }
    go.disabled = seeds.length < MIN;
    for (const row of $$(".song", results)) markAdded(row);
  }

  function markAdded(row) {
    const button = $('button[data-action="seed"]', row);
    const added = seeds.some((s) => s.song_id === row.dataset.songId);
    button.classList.toggle("added", added);
    button.textContent = added ? "\u2713 Added" : "+ Seed";
  }

  function progress() {
    if (seeds.length < MIN) return `Pick ${MIN - seeds.length} more.`;
    if (seeds.length < MAX) return `Ready: get recommendations, or add up to ${MAX - seeds.length} more.`;
    return "Ready: get recommendations.";
  }

  function addSeed(song) {
    if (seeds.some((s) => s.song_id === song.song_id)) {
      say(`${songName(song)} is already one of your seeds.`, "warn");
      return;
    }
    if (seeds.length >= MAX) {
      say(`You already have ${MAX} seeds, the most allowed. Remove one to add ${song.title}.`, "warn");
      return;
    }
    seeds.push(song);
    renderSeeds();
    say(`Added ${songName(song)}. ${seeds.length} of ${MAX} seeds. ${progress()}`, "ok");
  }

  function removeSeed(song) {
    const index = seeds.findIndex((s) => s.song_id === song.song_id);
    seeds.splice(index, 1);
    renderSeeds();
    say(`Removed ${songName(song)}. ${seeds.length} of ${MAX} seeds. ${progress()}`);
    // Keep the keyboard where it was: on the neighbouring chip, else back in the search box.
    const left = $$(".chip", chips);
    (left[index] || left[index - 1] || input).focus();
  }

  let controller = null;
  let timer = null;
  async function search() {
    const query = input.value.trim();
    if (controller) controller.abort();
    if (!query) {
      results.replaceChildren();
      searchStatus.textContent = "Results appear as you type.";
      return;
    }
    controller = new AbortController();
    const mine = controller;
    try {
      const data = await api(`/catalog/search?limit=10&q=${encodeURIComponent(query)}`, { signal: mine.signal });
      if (mine !== controller) return; // a newer search is on its way
      results.replaceChildren(...data.map((song) => {
        const row = songRow(song, "seed");
        markAdded(row);
        return row;
      }));
      searchStatus.textContent = data.length
        ? `${data.length} ${data.length === 1 ? "song matches" : "songs match"} “${query}”.`
        : `No song in the catalog matches “${query}”. Try another artist or title.`;
    } catch (error) {
      if (error.name === "AbortError") return;
      searchStatus.textContent = `Search failed: ${error.message}`;
    }
  }
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  results.addEventListener("click", (event) => {
    const button = event.target.closest('button[data-action="seed"]');
    if (button) addSeed(songOf(button.closest(".song")));
  });

  go.addEventListener("click", async () => {
    $("#recommend-error").textContent = "";
    go.disabled = true;
    go.textContent = "Getting recommendations…";
    try {
      const body = await api("/recommendations/cold-start", {
        method: "POST",
        body: { seeds: seeds.map((s) => s.song_id), limit: 12 },
      });
      $("#picker").hidden = true;
      $("#onboarding-intro").hidden = true;
      const section = $("#you-might-like");
      section.hidden = false;
      $("#after-onboarding").hidden = false;
      $("#ymal-list").replaceChildren(...body.results.map((rec) => songRow(rec)));
      $("#ymal-status").textContent = `${body.results.length} songs picked from your ${body.seed_count} seeds. Your seeds are saved: next time you land on your home page.`;
      $("#ymal-heading").focus();
    } catch (error) {
      $("#recommend-error").textContent = `Could not get recommendations: ${error.message}`;
      go.disabled = seeds.length < MIN;
    } finally {
      go.textContent = "Get recommendations";
    }
  });
  renderSeeds();
}

document.addEventListener("DOMContentLoaded", () => {
  setUpSongActions();
  const onboarding = $("#onboarding");
  if (onboarding) setUpOnboarding(onboarding);
});
