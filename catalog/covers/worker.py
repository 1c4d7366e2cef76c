"""Background fill: songs a response found missing from the cache are looked up off the request path.

Per process: a bounded, de-duplicated queue and ``COVER_WORKERS`` daemon threads. Threads start on
the first queued song, never at import, so a gunicorn master that preloads the app forks workers
without threads; a forked child starts its own (the parent's threads do not exist after a fork).
A full queue drops songs instead of blocking the request: they are queued again by the next
response that shows them. Across processes, a short cache lock keeps two workers from looking up
the same song at once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Iterable

from .chain import chain_state_keys, cover_fetch
from .store import CACHE_ERRORS, cache_store, cover_cache, cover_cache_key, cover_setting

logger = logging.getLogger(__name__)

LOCK_PREFIX = "cover:lock:v1:"


class CoverWorker:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._queue: deque[tuple[str, str, str]] = deque()
        self._pending: set[str] = set()  # queued or in progress
        self._threads: list[threading.Thread] = []
        # Bumped by shutdown(): a thread from an older generation exits at its next look at the queue.
        self._generation = 0
        self._pid = os.getpid()
        self.dropped = 0

    def submit(self, pairs: Iterable[tuple[str, str]]) -> int:
        """Queue (artist, track) pairs not already queued; returns how many were queued. Never blocks on I/O."""
        if self._pid != os.getpid():
            self._reset()
        limit = int(cover_setting("COVER_QUEUE_MAX"))
        queued = 0
        with self._lock:
            for artist, track in pairs:
                key = cover_cache_key(artist, track)
                if key in self._pending:
                    continue
                if len(self._pending) >= limit:
                    self.dropped += 1
                    continue
                self._pending.add(key)
                self._queue.append((key, artist, track))
                queued += 1
            if queued:
                self._start_threads()
                self._has_work.notify(queued)
        return queued

    def _start_threads(self) -> None:
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        for index in range(len(self._threads), max(1, int(cover_setting("COVER_WORKERS")))):
            thread = threading.Thread(
                target=self._run, args=(self._generation,), name=f"cover-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _run(self, generation: int) -> None:
        while True:
            with self._lock:
                while not self._queue and generation == self._generation:
                    self._has_work.wait()
                if generation != self._generation:
                    return
                key, artist, track = self._queue.popleft()
            try:
                _fill(key, artist, track)
            except Exception:  # a background thread must survive anything one song does to it
                logger.exception("cover look-up for %r failed", key)
            finally:
                with self._lock:
                    self._pending.discard(key)
                    if not self._pending:
                        self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until every queued song is done; False if that took longer than ``timeout``."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def shutdown(self, timeout: float) -> None:
        """Stop the threads (after the look-ups in progress) and forget what was queued."""
        with self._lock:
            self._generation += 1
            self._queue.clear()
            self._pending.clear()
            self._idle.notify_all()
            self._has_work.notify_all()
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout)

    @property
    def thread_count(self) -> int:
        return sum(1 for thread in self._threads if thread.is_alive())


def _fill(key: str, artist: str, track: str) -> None:
    """Look one song up unless another process has answered it or is on it; three cache round trips."""
    cache = cover_cache()
    try:
        found = cache.get_many([key, *chain_state_keys()])
        if key in found:
            return  # another process filled it since the response looked
        # The lock just expires: once the answer is stored, nobody asks for the song again anyway.
        if not cache.add(LOCK_PREFIX + key, 1, timeout=float(cover_setting("COVER_BUDGET_S")) + 5):
            return  # another process is looking it up right now
    except CACHE_ERRORS as exc:
        logger.warning("cover cache unreachable, background look-up of %r skipped: %s", key, exc)
        return
    result = cover_fetch(artist=artist, track=track, prefetched=found)
    cache_store(key, result.url, complete=result.complete)


cover_worker = CoverWorker()
# A child forked while a thread held the lock would inherit it held: start clean instead.
os.register_at_fork(after_in_child=cover_worker._reset)
