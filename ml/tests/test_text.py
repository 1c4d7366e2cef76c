"""Normalisation on real-world messy names (many taken from the playlist dataset)."""

from __future__ import annotations

import pytest

from ml.text import normalise, normalise_song_key, song_display_id, song_key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bennie And The Jets - Remastered 2014", "bennie and the jets"),
        ("Wild World", "wild world"),
        ("Beyoncé", "beyonce"),
        ("Sigur Rós", "sigur ros"),
        ("Motörhead", "motorhead"),
        ("Crazy In Love (feat. Jay-Z)", "crazy in love"),
        ("Crazy In Love [ft. JAY Z]", "crazy in love"),
        ("Stay (featuring Mikky Ekko)", "stay"),
        ("Empire State Of Mind feat. Alicia Keys", "empire state of mind"),
        ("Lean On ft. MØ", "lean on"),
        ("Wonderwall - Remastered", "wonderwall"),
        ("Yesterday - Remastered 2009", "yesterday"),
        ("Hey Jude - 2015 Remaster", "hey jude"),
        ("Strobe - Radio Edit", "strobe"),
        ("Levels (Original Mix)", "levels"),
        ("Titanium (feat. Sia) - David Guetta Remix", "titanium"),
        (
            "Summertime Sadness [Lana Del Rey vs. Cedric Gervais] - Cedric Gervais Remix",
            "summertime sadness lana del rey vs cedric gervais",
        ),
        ("Sweet Child O' Mine", "sweet child o mine"),
        ("Don’t Stop Believin’", "dont stop believin"),
        ("Don't Stop Believin'", "dont stop believin"),
        ("Wish You Were Here - Live at Knebworth 1990", "wish you were here"),
        ("God Only Knows (Mono)", "god only knows"),
        ("Good Vibrations - Stereo Version", "good vibrations"),
        ("Heroes (Single Version)", "heroes"),
        ("Simon & Garfunkel", "simon and garfunkel"),
        ("AC/DC", "ac dc"),
        ("  Lots   of\tspace  ", "lots of space"),
        ("Live Forever", "live forever"),  # "live" only counts inside a tag
        ("Edit", "edit"),
        ("(Live)", "live"),  # stripping everything would leave nothing: keep the words
        ("Nocturne (Op. 9 No. 2)", "nocturne op 9 no 2"),  # a bracket without a tag stays
        ("Song – Live", "song"),  # en dash
        ("None", "none"),
        ("ＡＢＣ", "abc"),  # full-width letters (NFKD)
        ("Straße", "strasse"),
        ("", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected
    assert normalise(expected) == expected


@pytest.mark.parametrize(
    ("song_id", "expected"),
    [
        ("Elton John - Bennie And The Jets - Remastered 2014", "elton john - bennie and the jets"),
        ("Jay-Z - Empire State Of Mind", "jay z - empire state of mind"),
        ("Rihanna feat. Drake - Work", "rihanna - work"),
        ("Daft Punk - Get Lucky (feat. Pharrell Williams) - Radio Edit", "daft punk - get lucky"),
        ("Oasis - Live Forever", "oasis - live forever"),
        ("The Beatles - Let It Be - Remastered 2009", "the beatles - let it be"),
        ("bennie and the jets", "bennie and the jets"),  # free text, no separator
        ("Röyksopp - Remind Me", "royksopp - remind me"),
    ],
)
def test_normalise_song_key(song_id: str, expected: str) -> None:
    assert normalise_song_key(song_id) == expected
    assert normalise_song_key(expected) == expected


def test_song_key_keeps_the_separator() -> None:
    assert song_key("Elton John", "Bennie And The Jets - Remastered 2014") == "elton john - bennie and the jets"
    assert song_key("A-ha", "Take On Me") == "a ha - take on me"
    assert normalise_song_key(song_display_id("Elton John", "Bennie And The Jets - Remastered 2014")) == song_key(
        "Elton John", "Bennie And The Jets - Remastered 2014"
    )


def test_song_display_id_trims_whitespace() -> None:
    assert song_display_id("  Elton  John ", "Wild  World") == "Elton John - Wild World"
