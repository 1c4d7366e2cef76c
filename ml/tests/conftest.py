"""Tiny generated data files for the ml tests (no Django, no shared datasets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.demo import make_demo_data


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def lastfm_csv(tmp_path: Path) -> Path:
    return write(
        tmp_path / "scrobbles.csv",
        "Username,Artist,Track,Album,Date,Time\n"
        "alice,Elton John,Bennie And The Jets - Remastered 2014,Goodbye,01 Jan 2021,10:00\n"
        "alice,Elton John,Bennie And The Jets,Goodbye,01 Jan 2021,10:05\n"
        "alice,Beyoncé,Crazy In Love (feat. Jay-Z),Dangerously,01 Jan 2021,10:10\n"
        "bob,Elton John,Bennie And The Jets,Goodbye,01 Jan 2021,11:00\n"
        "bob,,Nameless,,01 Jan 2021,11:05\n"
        "bob,Nobody,,,01 Jan 2021,11:06\n"
        "carol,Beyonce,Crazy In Love,Dangerously,02 Jan 2021,09:00\n"
        "carol,The Band,None,Album,02 Jan 2021,09:05\n",
    )


@pytest.fixture
def playlist_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "playlists"
    folder.mkdir()
    write(
        folder / "tracks.csv",
        "track_id,track_uri,artist_name,track_name\n"
        "0,spotify:track:a,Elton John,Bennie And The Jets - Remastered 2014\n"
        "1,spotify:track:b,Yusuf / Cat Stevens,Wild World\n"
        "2,spotify:track:c,America,Ventura Highway\n"
        "3,spotify:track:d,Elton John,Bennie And The Jets\n"
        "4,spotify:track:e,Some Artist,None\n"
        "5,spotify:track:f,,Empty Artist\n",
    )
    write(
        folder / "playlist_tracks.csv",
        "pid,pos,track_id\n0,0,0\n0,1,1\n0,2,2\n0,3,0\n1,0,3\n1,1,4\n1,2,5\n2,0,1\n2,1,2\n2,2,99\n",
    )
    write(folder / "playlists.csv", "pid,name\n0,a\n1,b\n2,c\n")
    return folder


@pytest.fixture
def triplets_csv(tmp_path: Path) -> Path:
    return write(
        tmp_path / "triplets.csv",
        "user,item,plays\nu1,Elton John - Bennie And The Jets,3\nu1,Plain Item,1\n"
        "u2,Elton John - Bennie And The Jets,2\n"
        "u2,x,notanumber\nu2,y,-1\nu3,,4\n",
    )


@pytest.fixture(scope="session")
def demo_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.csv"
    make_demo_data(path, users=240, songs=400, seed=3)
    return path
