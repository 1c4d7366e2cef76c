"""Song-name normalisation: the one place that decides when two names are "the same song".

Catalog search and seed resolution both call :func:`normalise_song_key`, and the data readers
use :func:`song_key` to merge variants ("Song - Remastered 2014", "Song (feat. X)") into one item.
Every function here is idempotent: ``normalise(normalise(x)) == normalise(x)``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["SEPARATOR", "normalise", "normalise_song_key", "song_display_id", "song_key"]

#: Separator between artist and track in a song_id ("Artist - Track") and in a normalised key.
SEPARATOR = " - "

# Words that mark a tag describing a *recording variant* rather than a different song.
_TAG_WORDS = r"(?:remix\w*|remaster\w*|live|version|edit|edited|mono|stereo|mix)"
_TAG_RE = re.compile(rf"\b{_TAG_WORDS}\b")
_FEAT_WORD = r"(?:feat\.?|ft\.?|featuring)"
# "(feat. X)" / "[ft. X]" anywhere.
_BRACKET_FEAT_RE = re.compile(rf"[(\[{{]\s*{_FEAT_WORD}\s[^)\]}}]*[)\]}}]?")
# " feat. X" up to the end of the string (run after bracketed/dash tags are gone).
_TRAILING_FEAT_RE = re.compile(rf"(?:^|\s){_FEAT_WORD}\s.*$")
# Any bracketed group; kept or dropped depending on whether it contains a tag word.
_BRACKET_RE = re.compile(r"[(\[{]([^)\]}]*)[)\]}]")
# " - ", " – ", " — " separated segments.
_DASH_SPLIT_RE = re.compile(r"\s+[-\u2010-\u2015]\s+")
_APOSTROPHE_RE = re.compile(r"['\u2018\u2019\u02bc`\u00b4]")
_AMPERSAND_RE = re.compile(r"\s&\s")
_NON_WORD_RE = re.compile(r"[\W_]+")


def _fold(text: str) -> str:
    """NFKD, drop combining marks, recompose (keeps Hangul compact), case-fold."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).casefold()


def _squash(text: str) -> str:
    """Punctuation to spaces, apostrophes removed ("don't" -> "dont"), spaces collapsed."""
    text = _APOSTROPHE_RE.sub("", text)
    text = _AMPERSAND_RE.sub(" and ", text)
    return _NON_WORD_RE.sub(" ", text).strip()


def normalise(text: str) -> str:
    """Normalise one name (an artist or a track title; also free text typed by a person).

    Unicode NFKD with combining marks stripped, case-folded; ``feat./ft./featuring`` parts dropped
    (bracketed or trailing); bracketed or dash-suffixed tags that contain remix, remaster(ed),
    live, version, edit, mono, stereo or mix dropped; apostrophes removed; other punctuation
    becomes a space; whitespace collapsed. If stripping tags would leave nothing (a title that is
    only "(Live)"), the tags are kept rather than returning an empty key.

    >>> normalise("Bennie And The Jets - Remastered 2014")
    'bennie and the jets'
    >>> normalise("Beyoncé (feat. JAY Z) [Live]")
    'beyonce'
    """
    if not text:
        return ""
    folded = _fold(text)
    cleaned = _BRACKET_FEAT_RE.sub(" ", folded)
    cleaned = _BRACKET_RE.sub(lambda m: " " if _TAG_RE.search(m.group(1)) else m.group(0), cleaned)
    segments = _DASH_SPLIT_RE.split(cleaned)
    while len(segments) > 1 and _TAG_RE.search(segments[-1]):
        segments.pop()
    cleaned = " ".join(segments)
    cleaned = _TRAILING_FEAT_RE.sub(" ", cleaned)
    result = _squash(cleaned)
    return result if result else _squash(folded)


def song_key(artist: str, title: str) -> str:
    """Normalised key of a song: ``normalise(artist) + " - " + normalise(title)``."""
    return f"{normalise(artist)}{SEPARATOR}{normalise(title)}"


def song_display_id(artist: str, title: str) -> str:
    """The catalog display key (``song_id``): ``"Artist - Track"`` with whitespace trimmed."""
    return f"{' '.join(artist.split())}{SEPARATOR}{' '.join(title.split())}"


def normalise_song_key(song_id: str) -> str:
    """Normalise a full ``"Artist - Track"`` string (or free text without a separator).

    The artist/track separator is the *first* " - "; later dashes belong to the title (and may
    be a "- Remastered" tag). Text without a separator is normalised as one name, so a search
    query like "bennie and the jets" still normalises sensibly.
    """
    if not song_id:
        return ""
    artist, sep, title = song_id.partition(SEPARATOR)
    if not sep:
        return normalise(song_id)
    return song_key(artist, title)
