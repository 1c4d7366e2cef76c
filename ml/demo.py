"""A deterministic, license-clean synthetic scrobble file in Last.fm format.

Every name is invented from word lists in this module, so the file can ship and be regenerated
anywhere. The structure is what makes recommendations on it look sensible to a person:

* genres, each with its own vocabulary for artist and track names ("Midnight Velvet" in soul,
  "Iron Wolves" in metal), so a listener can *see* that a recommendation fits;
* artists with several tracks (a power law: a few artists have many), artist popularity and track
  popularity within an artist both power-law;
* listeners with one main genre and sometimes a second, a few favourite artists, play counts per
  track heavy-tailed (one row per play, as in real scrobble exports).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

__all__ = ["DEMO_HEADER", "DemoSummary", "make_demo_data"]

DEMO_HEADER = ["Username", "Artist", "Track", "Album", "Date", "Time"]

# genre -> (artist name parts, track title words)
_GENRES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "indie rock": (
        ["The", "Paper", "Glass", "Northern", "Quiet", "Young", "Electric", "Parallel"],
        ["Lanterns", "Harbours", "Cartographers", "Satellites", "Fjords", "Architects", "Pilots", "Tides"],
        [
            "Summer",
            "Static",
            "Letters",
            "Coastline",
            "Neon",
            "Teenage",
            "Runaway",
            "Weekend",
            "Ghosts",
            "Radio",
            "Hometown",
            "Skyline",
            "Motel",
            "Bicycle",
            "Polaroid",
        ],
    ),
    "metal": (
        ["Iron", "Black", "Frozen", "Grave", "Storm", "Blood", "Obsidian", "Doom"],
        ["Wolves", "Throne", "Serpent", "Legion", "Hammer", "Crypt", "Vortex", "Titans"],
        [
            "Inferno",
            "Ashes",
            "Chains",
            "Eclipse",
            "Warcry",
            "Abyss",
            "Reckoning",
            "Venom",
            "Ritual",
            "Oblivion",
            "Thunder",
            "Carnage",
            "Sacrifice",
            "Bones",
            "Fire",
        ],
    ),
    "hip hop": (
        ["Lil", "Young", "MC", "Big", "DJ", "Kid", "Yung", "King"],
        ["Cashmere", "Blocks", "Tempo", "Vibes", "Marlo", "Dreamz", "Hustle", "Flex"],
        [
            "Money",
            "Hustle",
            "Crown",
            "Drip",
            "Block",
            "Late Night",
            "Flow",
            "Ride",
            "Gold",
            "Hood",
            "Hype",
            "Bounce",
            "Grind",
            "Boss",
            "Stacks",
        ],
    ),
    "electronic": (
        ["Deep", "Neon", "Digital", "Cosmic", "Pulse", "Synthetic", "Lunar", "Hyper"],
        ["Circuits", "Frequency", "Machines", "Orbit", "Waves", "Signal", "Prism", "Horizon"],
        [
            "Pulse",
            "Afterglow",
            "Voltage",
            "Nightdrive",
            "Sunrise",
            "Binary",
            "Euphoria",
            "Laser",
            "Drift",
            "Echo",
            "Hologram",
            "Strobe",
            "Cascade",
            "Momentum",
            "Aurora",
        ],
    ),
    "jazz": (
        ["Blue", "Miles", "Ella", "Velvet", "Smoky", "Count", "Duke", "Sonny"],
        ["Quartet", "Trio", "Ensemble", "Orchestra", "Sextet", "Collective", "Band", "Players"],
        [
            "Blue",
            "Moonlight",
            "Autumn",
            "Swing",
            "Bourbon",
            "Midnight",
            "Stroll",
            "Cafe",
            "Serenade",
            "Reverie",
            "Boulevard",
            "Nocturne",
            "Rain",
            "Lullaby",
            "Saxophone",
        ],
    ),
    "country": (
        ["Hank", "Dolly", "Dusty", "Whiskey", "Lone", "Prairie", "Cotton", "Willie"],
        ["Ramblers", "Outlaws", "Creek", "Ridge", "Wagon", "Brothers", "Highway", "Ranch"],
        [
            "Dirt Road",
            "Pickup",
            "Whiskey",
            "Tennessee",
            "Heartache",
            "Porch",
            "Harvest",
            "Rodeo",
            "Honky Tonk",
            "Back Home",
            "River",
            "Boots",
            "Sunday",
            "Barn",
            "Cowboy",
        ],
    ),
    "classical": (
        ["Vienna", "Royal", "Baroque", "Chamber", "Imperial", "Saint", "Grand", "Philharmonic"],
        ["Strings", "Consort", "Choir", "Soloists", "Camerata", "Academy", "Virtuosi", "Sinfonia"],
        [
            "Sonata",
            "Prelude",
            "Nocturne",
            "Fugue",
            "Adagio",
            "Requiem",
            "Concerto",
            "Etude",
            "Waltz",
            "Minuet",
            "Overture",
            "Rhapsody",
            "Canon",
            "Allegro",
            "Suite",
        ],
    ),
    "soul": (
        ["Midnight", "Sweet", "Golden", "Velvet", "Honey", "Silk", "Brown", "Sugar"],
        ["Velvet", "Revue", "Soul Sisters", "Supremes", "Groove", "Harmony", "Shades", "Satin"],
        [
            "Baby",
            "Love",
            "Tender",
            "Heart",
            "Sweet Thing",
            "Groove",
            "Tonight",
            "Darling",
            "Forever",
            "Soul",
            "Touch",
            "Closer",
            "Desire",
            "Devotion",
            "Honey",
        ],
    ),
    "pop": (
        ["Kaya", "Luna", "Stella", "Max", "Ivy", "Jade", "Nova", "Zara"],
        ["Hart", "Rivers", "Bloom", "Starr", "Lane", "Rose", "Sky", "Belle"],
        [
            "Heartbeat",
            "Dance",
            "Crush",
            "Starlight",
            "Tonight",
            "Sugar",
            "Fireworks",
            "Kiss",
            "Bubblegum",
            "Glitter",
            "Summer",
            "Dream",
            "Party",
            "Sparkle",
            "Lovesick",
        ],
    ),
    "folk": (
        ["Willow", "Old", "Hollow", "Wandering", "Autumn", "Little", "Cedar", "Meadow"],
        ["Sparrows", "Oak", "Pines", "Travellers", "Hearth", "Balladeers", "Shepherds", "Fields"],
        [
            "Hills",
            "Fireside",
            "Lantern",
            "Harvest Moon",
            "Wildflower",
            "Orchard",
            "Valley",
            "Ballad",
            "Wanderer",
            "Cabin",
            "Snowfall",
            "Creek",
            "Homeward",
            "Spindle",
            "Acorn",
        ],
    ),
}
_TITLE_PATTERNS = ["{a}", "{a} {b}", "The {a}", "{a} of {b}", "{a} and {b}", "My {a}", "{a} Again", "No More {a}"]


@dataclass
class DemoSummary:
    path: Path
    rows: int
    users: int
    songs: int
    artists: int
    genres: int


def _unique_names(rng: np.random.Generator, parts: tuple[list[str], list[str]], n: int, taken: set[str]) -> list[str]:
    first, second = parts
    names = []
    attempts = 0
    while len(names) < n:
        attempts += 1
        name = f"{first[rng.integers(len(first))]} {second[rng.integers(len(second))]}"
        if attempts > 50 * n:  # vocabulary exhausted: number the rest
            name = f"{name} {attempts}"
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def _titles(rng: np.random.Generator, words: list[str], n: int) -> list[str]:
    titles: list[str] = []
    seen: set[str] = set()
    attempts = 0
    while len(titles) < n:
        attempts += 1
        pattern = _TITLE_PATTERNS[rng.integers(len(_TITLE_PATTERNS))]
        a, b = words[rng.integers(len(words))], words[rng.integers(len(words))]
        title = pattern.format(a=a, b=b)
        if attempts > 50 * n:
            title = f"{title} (Part {attempts})"
        if title not in seen and a != b:
            seen.add(title)
            titles.append(title)
    return titles


def _power_law(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return weights[rng.permutation(n)] / weights.sum()


def make_demo_data(out: Path, *, users: int = 1500, songs: int = 4000, seed: int = 7) -> DemoSummary:
    """Write the synthetic scrobble CSV to ``out`` and return what it holds.

    Deterministic: the same (users, songs, seed) always writes the same bytes.
    """
    if users < 1 or songs < 1:
        raise ValueError("users and songs must be positive.")
    rng = np.random.default_rng(seed)
    genres = list(_GENRES)
    n_genres = len(genres)

    # Artists: several tracks each (1..25, power law), assigned to genres round-robin.
    track_artist: list[int] = []
    artist_names: list[str] = []
    artist_genre: list[int] = []
    taken: set[str] = set()
    while len(track_artist) < songs:
        genre = len(artist_names) % n_genres
        n_tracks = int(min(25, max(1, rng.zipf(1.8))) + 2)
        artist = len(artist_names)
        artist_names.append(_unique_names(rng, _GENRES[genres[genre]][:2], 1, taken)[0])
        artist_genre.append(genre)
        track_artist.extend([artist] * min(n_tracks, songs - len(track_artist)))
    track_artist_arr = np.asarray(track_artist)
    n_artists = len(artist_names)
    track_titles: list[str] = [""] * songs
    albums: list[str] = [""] * songs
    for artist in range(n_artists):
        rows = np.flatnonzero(track_artist_arr == artist)
        words = _GENRES[genres[artist_genre[artist]]][2]
        for row, title in zip(rows, _titles(rng, words, rows.size), strict=True):
            track_titles[row] = title
        album = f"{_titles(rng, words, 1)[0]}"
        for row in rows:
            albums[row] = album
    track_genre = np.asarray(artist_genre)[track_artist_arr]
    artist_weight = _power_law(rng, n_artists, 0.8)
    track_weight = np.empty(songs)
    for artist in range(n_artists):
        rows = np.flatnonzero(track_artist_arr == artist)
        track_weight[rows] = artist_weight[artist] * _power_law(rng, rows.size, 0.9)

    start = datetime(2021, 1, 1, tzinfo=UTC)
    rows_written = 0
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(DEMO_HEADER)
        for user in range(users):
            name = f"listener_{user + 1:05d}"
            main = rng.integers(n_genres)
            taste = np.full(n_genres, 0.03)
            taste[main] = 1.0
            if rng.random() < 0.5:
                taste[(main + 1 + rng.integers(n_genres - 1)) % n_genres] += 0.45
            # A few favourite artists of the main genre get a boost (people play albums).
            boost = np.ones(songs)
            main_artists = np.flatnonzero(np.asarray(artist_genre) == main)
            for artist in rng.choice(main_artists, size=min(3, main_artists.size), replace=False):
                boost[track_artist_arr == artist] = 6.0
            weights = track_weight * taste[track_genre] * boost
            weights /= weights.sum()
            n_songs = int(min(songs, max(5, rng.lognormal(3.2, 0.6))))
            picks = rng.choice(songs, size=n_songs, replace=False, p=weights)
            plays = np.minimum(1 + rng.zipf(2.0, size=n_songs), 60)
            when = start + timedelta(minutes=int(rng.integers(0, 525_600)))
            for track, count in zip(picks.tolist(), plays.tolist(), strict=True):
                for _ in range(count):
                    when += timedelta(minutes=int(rng.integers(3, 240)))
                    writer.writerow(
                        [
                            name,
                            artist_names[track_artist[track]],
                            track_titles[track],
                            albums[track],
                            when.strftime("%d %b %Y"),
                            when.strftime("%H:%M"),
                        ]
                    )
                    rows_written += 1
    return DemoSummary(path=out, rows=rows_written, users=users, songs=songs, artists=n_artists, genres=n_genres)
