"""The synthetic demo data: deterministic, Last.fm format, with real structure."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from ml.demo import DEMO_HEADER, make_demo_data
from ml.readers import detect_format


def test_deterministic_and_structured(tmp_path: Path) -> None:
    first = make_demo_data(tmp_path / "a.csv", users=60, songs=150, seed=1)
    make_demo_data(tmp_path / "b.csv", users=60, songs=150, seed=1)
    make_demo_data(tmp_path / "c.csv", users=60, songs=150, seed=2)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()
    assert detect_format(tmp_path / "a.csv") == "lastfm"
    with open(tmp_path / "a.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == DEMO_HEADER
    assert len(rows) - 1 == first.rows
    assert {r[0] for r in rows[1:]} == {f"listener_{i:05d}" for i in range(1, 61)}
    tracks_per_artist = Counter(artist for artist, _ in {(r[1], r[2]) for r in rows[1:]})
    assert max(tracks_per_artist.values()) >= 3  # artists have several tracks
    plays = Counter((r[0], r[1], r[2]) for r in rows[1:])
    assert max(plays.values()) > 1  # repeated plays
    song_popularity = Counter((artist, track) for _, artist, track in plays)  # distinct listeners
    counts = sorted(song_popularity.values(), reverse=True)
    assert counts[0] >= 3 * counts[len(counts) // 2]  # a long tail
