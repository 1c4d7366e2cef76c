"""In-memory catalog search over the loaded model's songs: the ranking of ``selectors.song_search``
(exact > prefix > substring on normalised keys, then popularity, then song_id) without a query.

Every searchable song is a song of the loaded model (``build_index`` publishes exactly the
model's songs as the available catalog), so the model store builds one of these per model, at
load, in the gunicorn master; the workers share its pages. No Django here: plain Python + numpy.

Layout (``n`` songs, ``rank`` = position in (-popularity, song_id) order):

* exact: ``dict`` normalised key -> ranks (title key and full "artist title" key);
* prefix: the keys sorted, with the rank of each; a prefix is a contiguous range (bisect), whose
  best ``limit`` ranks are found with ``np.partition``;
* substring: a byte-trigram inverted index (CSR: sorted trigram codes, offsets, ranks ascending).
  Candidates are the postings of the query's rarest trigram(s), read in rank order and checked
  with ``in`` until ``limit`` are found, so a common term stops early and a rare one has few
  postings. Byte trigrams of the UTF-8 key are a necessary condition for a match in any script.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ml.text import normalise

from .keys import song_keys

#: Substring matching needs this many characters (the database path's trigram index needs 3 too).
MIN_SUBSTRING_CHARS = 3
#: Candidates checked per step when walking a trigram's postings in rank order.
_CHUNK = 256
#: Intersect trigram postings while the candidate list is longer than this.
_INTERSECT_ABOVE = 512


@dataclass(frozen=True)
class _SortedKeys:
    keys: list[str]  # sorted
    ranks: np.ndarray  # int32, ranks[i] is the song of keys[i]

    @classmethod
    def build(cls, keys_by_rank: Sequence[str]) -> _SortedKeys:
        order = sorted(range(len(keys_by_rank)), key=keys_by_rank.__getitem__)
        return cls([keys_by_rank[i] for i in order], np.asarray(order, dtype=np.int32))

    def prefixed(self, text: str) -> np.ndarray:
        lo = bisect_left(self.keys, text)
        hi = bisect_left(self.keys, text + "\U0010ffff", lo)
        return self.ranks[lo:hi]


def _trigram_codes(data: bytes) -> np.ndarray:
    b = np.frombuffer(data, dtype=np.uint8).astype(np.int32)
    return (b[:-2] << 16) | (b[1:-1] << 8) | b[2:]


class SongSearchIndex:
    """Search over songs given as parallel lists; answers are row numbers of those lists."""

    def __init__(self, song_ids: Sequence[str], artists: Sequence[str], titles: Sequence[str], popularity) -> None:
        popularity = np.asarray(popularity, dtype=np.int64)
        n = len(song_ids)
        # Rank order = the database path's ORDER BY -popularity, song_id.
        by_song_id = sorted(range(n), key=song_ids.__getitem__)
        position = np.empty(n, dtype=np.int64)
        position[by_song_id] = np.arange(n)
        self.row_of_rank = np.lexsort((position, -popularity)).astype(np.int32)
        keys = [song_keys(artist=artists[row], title=titles[row]) for row in self.row_of_rank.tolist()]
        self._search_keys = [k["search_key"] for k in keys]
        title_keys = [k["title_key"] for k in keys]
        self._exact: dict[str, list[int]] = {}
        for rank, (search_key, title_key) in enumerate(zip(self._search_keys, title_keys, strict=True)):
            self._exact.setdefault(search_key, []).append(rank)
            if title_key != search_key:
                self._exact.setdefault(title_key, []).append(rank)
        self._by_search_key = _SortedKeys.build(self._search_keys)
        self._by_title_key = _SortedKeys.build(title_keys)
        self._build_trigrams()

    def _build_trigrams(self) -> None:
        encoded = [key.encode() for key in self._search_keys]
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
        # Keys joined with a NUL between them; trigrams that span a NUL are dropped.
        codes = _trigram_codes(b"\0".join(encoded)) if encoded else np.empty(0, dtype=np.int32)
        owner = np.repeat(np.arange(len(encoded), dtype=np.int32), lengths + 1)[: len(codes)]
        joined = np.frombuffer(b"\0".join(encoded), dtype=np.uint8)
        inside = (joined[:-2] != 0) & (joined[1:-1] != 0) & (joined[2:] != 0) if len(joined) >= 3 else np.zeros(0, bool)
        codes, owner = codes[inside], owner[inside]
        # Sort by (trigram, rank) and drop a trigram repeated within one key.
        order = np.lexsort((owner, codes))
        codes, owner = codes[order], owner[order]
        keep = np.ones(len(codes), dtype=bool)
        keep[1:] = (codes[1:] != codes[:-1]) | (owner[1:] != owner[:-1])
        codes, owner = codes[keep], owner[keep]
        self._trigrams, starts = np.unique(codes, return_index=True)
        self._offsets = np.append(starts, len(codes)).astype(np.int64)
        self._postings = owner

    @property
    def size(self) -> int:
        return len(self.row_of_rank)

    def _posting(self, code: int) -> np.ndarray:
        i = int(np.searchsorted(self._trigrams, code))
        if i == len(self._trigrams) or self._trigrams[i] != code:
            return self._postings[:0]
        return self._postings[self._offsets[i] : self._offsets[i + 1]]

    def _substring(self, text: str, *, taken: set[int], limit: int) -> list[int]:
        postings = sorted((self._posting(int(c)) for c in np.unique(_trigram_codes(text.encode()))), key=len)
        candidates = postings[0]
        for more in postings[1:]:
            if len(candidates) <= _INTERSECT_ABOVE:
                break
            candidates = np.intersect1d(candidates, more, assume_unique=True)
        found: list[int] = []
        keys = self._search_keys
        for start in range(0, len(candidates), _CHUNK):
            for rank in candidates[start : start + _CHUNK].tolist():
                if rank not in taken and text in keys[rank]:
                    found.append(rank)
                    if len(found) == limit:
                        return found
        return found

    @staticmethod
    def _best(ranks: np.ndarray, *, taken: set[int], limit: int) -> list[int]:
        want = limit + len(taken)
        if len(ranks) > want:
            ranks = np.partition(ranks, want - 1)[:want]
        return [rank for rank in np.sort(ranks).tolist() if rank not in taken][:limit]

    def search(self, query: str, *, limit: int) -> list[int]:
        """Rows matching ``query``: exact, then prefix, then substring (3+ characters); each tier by
        popularity, then song_id. Same answers as the database path over the same songs."""
        text = normalise(query)
        if not text or limit <= 0:
            return []
        found = sorted(set(self._exact.get(text, ())))[:limit]
        taken = set(found)
        if len(found) < limit:
            prefixed = np.union1d(self._by_title_key.prefixed(text), self._by_search_key.prefixed(text))
            more = self._best(prefixed, taken=taken, limit=limit - len(found))
            found += more
            taken.update(more)
        if len(found) < limit and len(text) >= MIN_SUBSTRING_CHARS:
            found += self._substring(text, taken=taken, limit=limit - len(found))
        return self.row_of_rank[found].tolist()
