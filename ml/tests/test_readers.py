"""Readers: every format, and every bad input becomes a DataError naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml import readers
from ml.errors import DataError
from ml.readers import detect_format, read_interactions, read_lastfm, read_playlists, read_triplets

from .conftest import write


def pairs(data: readers.Interactions) -> dict[tuple[str, str], float]:
    return {
        (data.user_ids[u], data.song_ids[i]): float(p)
        for u, i, p in zip(data.users.tolist(), data.items.tolist(), data.plays.tolist(), strict=True)
    }


def test_lastfm_aggregates_plays_merges_variants_and_counts_skips(lastfm_csv: Path) -> None:
    data = read_lastfm(lastfm_csv)
    got = pairs(data)
    # The remastered and plain spellings are one song (1 + 1 plays), displayed with the spelling
    # seen in most rows.
    assert got[("alice", "Elton John - Bennie And The Jets")] == 2.0
    assert got[("bob", "Elton John - Bennie And The Jets")] == 1.0
    # "Beyoncé ... (feat. Jay-Z)" and "Beyonce - Crazy In Love" merge; on a tie the first spelling wins.
    assert got[("carol", "Beyoncé - Crazy In Love (feat. Jay-Z)")] == 1.0
    # A track literally named "None" is a song, not a missing value.
    assert ("carol", "The Band - None") in got
    assert data.source["rows"] == 8
    assert data.source["skipped"] == {"empty_artist_or_track": 2}
    assert data.source["format"] == "lastfm"
    assert len(data.source["sha256"]) == 64
    assert data.n_items == 3  # bennie, crazy in love, none


def test_lastfm_header_is_case_insensitive_with_bom_and_any_order(tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "\ufefftrack,EXTRA,artist,username\nSong,x,Band,u1\nSong,y,Band,u1\n")
    data = read_lastfm(path)
    assert pairs(data) == {("u1", "Band - Song"): 2.0}


def test_lastfm_aggregation_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "CHUNK_ROWS", 3)
    rows = "".join(f"u{i % 4},Artist {i % 3},Track {i % 5}\n" for i in range(50))
    data = read_lastfm(write(tmp_path / "s.csv", "Username,Artist,Track\n" + rows))
    assert float(data.plays.sum()) == 50.0
    keys = data.users.astype(np.int64) << 32 | data.items.astype(np.int64)
    assert np.all(np.diff(keys) > 0), "pairs are unique and sorted"


def test_playlists_reader(playlist_dir: Path) -> None:
    data = read_playlists(playlist_dir)
    got = pairs(data)
    # Track 0 appears twice in playlist 0: two plays. Tracks 0 and 3 are the same song.
    assert got[("0", "Elton John - Bennie And The Jets - Remastered 2014")] == 2.0
    assert got[("1", "Elton John - Bennie And The Jets - Remastered 2014")] == 1.0
    assert ("1", "Some Artist - None") in got
    assert data.source["skipped"] == {"empty_artist_or_track": 1, "unknown_or_empty_track": 2}
    assert data.source["rows"] == 10
    # Any file inside the folder works too.
    assert read_playlists(playlist_dir / "playlist_tracks.csv").n_pairs == data.n_pairs


def test_triplets_reader_with_and_without_header(triplets_csv: Path, tmp_path: Path) -> None:
    data = read_triplets(triplets_csv)
    got = pairs(data)
    assert got == {
        ("u1", "Elton John - Bennie And The Jets"): 3.0,
        ("u1", "Plain Item"): 1.0,
        ("u2", "Elton John - Bennie And The Jets"): 2.0,
    }
    assert data.source["skipped"] == {"bad_plays": 2, "empty_item": 1}
    index = data.song_ids.index("Elton John - Bennie And The Jets")
    assert (data.artists[index], data.titles[index]) == ("Elton John", "Bennie And The Jets")
    tabbed = read_triplets(write(tmp_path / "t.tsv", "a\tsong one\t2\nb\tsong one\t1\n"))
    assert tabbed.n_pairs == 2
    assert tabbed.source["rows"] == 2


def test_detect_format(lastfm_csv: Path, playlist_dir: Path, triplets_csv: Path) -> None:
    assert detect_format(lastfm_csv) == "lastfm"
    assert detect_format(playlist_dir) == "playlists"
    assert detect_format(playlist_dir / "tracks.csv") == "playlists"
    assert detect_format(triplets_csv) == "triplets"
    assert read_interactions(lastfm_csv).source["format"] == "lastfm"


@pytest.mark.parametrize("fmt", ["lastfm", "triplets"])
def test_missing_file(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(DataError, match=r"nope\.csv does not exist"):
        read_interactions(tmp_path / "nope.csv", fmt)


@pytest.mark.parametrize("fmt", ["lastfm", "triplets"])
def test_empty_file(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(DataError, match=r"empty\.csv is empty"):
        read_interactions(write(tmp_path / "empty.csv", ""), fmt)


def test_header_only_has_no_usable_rows(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"h\.csv has no usable rows \(0 data rows"):
        read_lastfm(write(tmp_path / "h.csv", "Username,Artist,Track\n"))


def test_only_bad_rows_says_what_was_skipped(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="skipped: 2 empty artist or track"):
        read_lastfm(write(tmp_path / "b.csv", "Username,Artist,Track\nu,,x\nu,a,\n"))


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"c\.csv is missing required column\(s\) Track; its header is Username, Artist"
    ):
        read_lastfm(write(tmp_path / "c.csv", "Username,Artist\nu,a\n"))


def test_wrong_encoding(tmp_path: Path) -> None:
    path = write(tmp_path / "latin.csv", "Username,Artist,Track\nu,Beyoncé,Halo\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"latin\.csv is not valid UTF-8"):
        read_lastfm(path)
    with pytest.raises(DataError, match="not valid UTF-8"):
        read_triplets(write(tmp_path / "t.csv", "u,Beyoncé,1\n", encoding="latin-1"))


def test_binary_garbage_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes(b"\x00\xff\xfe" * 100)
    with pytest.raises(DataError, match=r"g\.csv"):
        read_interactions(path)


def test_triplets_too_few_columns(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="needs 3 columns"):
        read_triplets(write(tmp_path / "t.csv", "u1,item\n"))


def test_playlist_dataset_missing_file(tmp_path: Path, playlist_dir: Path) -> None:
    (playlist_dir / "tracks.csv").unlink()
    with pytest.raises(DataError, match=r"has no tracks\.csv"):
        read_playlists(playlist_dir)
    with pytest.raises(DataError, match="does not exist"):
        read_playlists(tmp_path / "missing")


def test_directory_that_is_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not the playlist dataset layout"):
        read_interactions(tmp_path)


def test_unknown_format(lastfm_csv: Path) -> None:
    with pytest.raises(DataError, match="Unknown data format 'xml'"):
        read_interactions(lastfm_csv, "xml")


def test_very_long_names_are_capped(tmp_path: Path) -> None:
    data = read_lastfm(write(tmp_path / "l.csv", f"Username,Artist,Track\nu,{'A' * 900},{'T' * 900}\n"))
    assert len(data.song_ids[0]) <= 2 * readers.MAX_NAME_CHARS + 3


def test_a_header_that_is_no_known_format_is_refused(tmp_path: Path) -> None:
    people = write(tmp_path / "people.csv", "name,city,age\nalice,Paris,34\nbob,Oslo,41\n")
    with pytest.raises(DataError, match=r"people\.csv has the header 'name,city,age'.*Username,Artist,Track"):
        read_interactions(people)


def test_a_plays_column_that_is_not_plays_is_refused(tmp_path: Path) -> None:
    dates = write(tmp_path / "d.csv", "user,item,plays\nu1,A - a,2019-03-01\nu2,A - a,2019-04-01\nu2,B - b,3\n")
    with pytest.raises(DataError, match=r"d\.csv: the plays column does not hold play counts \(2 of 3 rows"):
        read_triplets(dates)


def test_triplet_header_may_name_its_columns_in_any_order(tmp_path: Path) -> None:
    data = read_triplets(write(tmp_path / "t.csv", "Plays,Song,UserName\n3,A - a,u1\n1,B - b,u1\n"))
    assert pairs(data) == {("u1", "A - a"): 3.0, ("u1", "B - b"): 1.0}
