"""gunicorn's threaded worker, accepting connections only while it can serve them, and serving them
in its main thread when it has one thread.

All workers listen on one socket and race to accept. gunicorn's ``gthread`` worker accepts
whenever it is woken, busy or not, and a kept-alive connection then stays with the worker that
accepted it. When 16 clients connect at once (a load balancer's upstream pool, a benchmark), the
first worker to wake takes most of them: measured at 1M songs, 3 workers held 10, 5 and 1 of 16
connections, and once all 16 while the other two idled (bench/results/worker-configs-1M*.json).

``BalancedThreadWorker`` accepts only while it can serve, so a busy worker leaves new connections
in the listen queue for an idle one. Under full load every worker is busy all the time and the
queue must still drain: a busy worker takes a connection once it has seen one waiting for
``ACCEPT_WAIT_PER_CONNECTION_S`` per connection it holds (at most ``ACCEPT_WAIT_MAX_S``), so the
worker holding fewer connections takes the next one first.

**One thread (the default): served inline.** gthread hands every request from its main thread
(the poller) to a pool thread and the finished connection back through a pipe: two thread
wake-ups, two GIL hand-offs and four extra system calls per request, for a pool of one thread that
runs nothing concurrently anyway. With ``threads = 1`` this worker serves a ready connection's
request in the main thread, between two polls: at 1M songs, 16 clients, 3 interleaved rounds,
cold-start 966 -> 1,150 req/s and similar 1,142 -> 1,271 req/s
(bench/results/worker-configs-inline-1M.json). "Busy" is then what the last poll saw: a round that
found a client's request ready is busy, and a connection waiting in the same round is taken only
by the wait rule above; a round that found only waiting connections is idle and takes one. A new
connection's first request is waited for ``FIRST_REQUEST_WAIT_S`` at most; then the connection
waits in the poller, not in the worker (gthread's thread waits up to 5 s for it), so a client that
connects and says nothing holds nobody else's request up. The short wait is what spreads clients
that connect together: the worker that took one stays busy with it while another worker accepts
the next. Without it, a worker took connections whose requests had not arrived yet one after
another: 16 clients sending 0-3 ms after connecting went 12/4, 10/6 or 9/7 in half of 12 tries
(the spread test failed once in CI at 10/6). Counting such parked connections as busy instead
made an otherwise idle worker poll in a tight loop until the wait rule let it accept.

With more threads (``GUNICORN_THREADS``) requests run in gthread's pool as usual, and "busy" is
every thread holding a request.
"""

from __future__ import annotations

import select
import time
from collections import deque
from concurrent.futures import Future

# _DEFER: gthread's "no request yet, park the connection" result (gunicorn is pinned in requirements.txt).
from gunicorn.workers.gthread import _DEFER, ThreadWorker

#: What spotify_redux/gunicorn.conf.py runs unless GUNICORN_WORKER_CLASS / GUNICORN_THREADS say
#: otherwise (bench/serve.py's gunicorn floors read the same).
DEFAULT_WORKER_CLASS = "spotify_redux.workers.BalancedThreadWorker"
DEFAULT_THREADS = 1

#: A busy worker holding N connections takes one that has waited N times this (at most the maximum).
ACCEPT_WAIT_PER_CONNECTION_S = 0.005
ACCEPT_WAIT_MAX_S = 0.1
#: Served inline, how long a new connection's first request is waited for before the connection
#: is parked in the poller: clients send their request right after connecting.
FIRST_REQUEST_WAIT_S = 0.01


def _completed(result) -> Future:
    """A finished future holding ``result``: what gthread's ``finish_request`` takes from its pool."""
    done: Future = Future()
    done.set_result(result)
    return done


class BalancedThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.serves_inline = self.cfg.threads == 1
        self.requests_in_worker = 0  # thread pool: running in a thread or queued for one
        self.waiting_seen_since: float | None = None  # busy, and a connection has been waiting since
        self.listen_queue = select.poll()  # poll, not select(): any descriptor number
        self.ready_conns: deque = deque()  # inline: connections whose request is served next
        self.serving = False  # inline: a request is being served (finish_request may enqueue another)

    def init_process(self):
        # In the forked worker, where self.sockets are final (per worker with reuse_port).
        for listener in self.sockets:
            self.listen_queue.register(listener, select.POLLIN)
        super().init_process()  # runs the worker until it stops

    # -- when to accept ---------------------------------------------------------------------------

    def waited_long_enough(self) -> bool:
        """Busy, with a connection waiting: whether it has waited long enough (since this worker
        first saw it) for every other worker to be busy too."""
        now = time.monotonic()
        if self.waiting_seen_since is None:
            self.waiting_seen_since = now
        return now - self.waiting_seen_since >= min(ACCEPT_WAIT_PER_CONNECTION_S * self.nr_conns, ACCEPT_WAIT_MAX_S)

    def can_take_connection(self) -> bool:
        """Thread pool: a free thread, or busy while a connection has waited long enough. Asked
        whenever the worker wakes (a request done, a connection readable; at least once a second)."""
        if self.requests_in_worker < self.cfg.threads:
            self.waiting_seen_since = None
            return True
        if not self.listen_queue.poll(0):
            self.waiting_seen_since = None
            return False
        return self.waited_long_enough()

    def set_accept_enabled(self, enabled):
        # Thread pool: the run loop asks again on every wake-up while the answer differs from what
        # it wants. Inline, the listener stays registered and each poll round decides.
        if not self.serves_inline:
            enabled = enabled and self.can_take_connection()
        super().set_accept_enabled(enabled)

    def accept(self, listener):
        self.waiting_seen_since = None
        super().accept(listener)

    def wait_for_and_dispatch_events(self, timeout):
        if not self.serves_inline:
            super().wait_for_and_dispatch_events(timeout)
            return
        events = self.poller.select(timeout)  # retried on EINTR by the selectors module
        waiting = []
        busy = False
        for key, _ in events:
            if key.data == self.accept:
                waiting.append(key.fileobj)
                continue
            busy = busy or key.data != self.method_queue.run_callbacks  # a client's request
            key.data(key.fileobj)
        if not waiting:
            self.waiting_seen_since = None
        for listener in waiting:
            # Declined only after a round that served requests, so the next poll has work or an
            # idle worker: never a loop of polls that return at once for the waiting connection.
            if self.alive and (not busy or self.waited_long_enough()):
                self.accept(listener)

    # -- serving ----------------------------------------------------------------------------------

    def enqueue_req(self, conn):
        # Every request passes here: a new connection's first, a kept-alive or deferred
        # connection's next.
        self.requests_in_worker += 1
        if not self.serves_inline:
            # The request that takes the last free thread stops accepting at once.
            if not self.can_take_connection():
                ThreadWorker.set_accept_enabled(self, False)
            super().enqueue_req(conn)
            return
        self.ready_conns.append(conn)
        if self.serving:  # finish_request found the next request already read: served next, not nested
            return
        self.serving = True
        try:
            while self.ready_conns:
                self.serve_inline(self.ready_conns.popleft())
        finally:
            self.serving = False

    def serve_inline(self, conn) -> None:
        """Serve one request now; a new connection whose request has not arrived within
        ``FIRST_REQUEST_WAIT_S`` goes to the poller instead (gthread's own deferral, closed after
        ``keepalive`` seconds of silence)."""
        if conn.initialized or conn.wait_for_data(FIRST_REQUEST_WAIT_S):
            # The arbiter's heartbeat, per request: a round may serve several slow ones back to back
            # (GET /cover on a cache miss), which together must not look like a hung worker.
            self.notify()
            result = self.handle(conn)
        else:
            result = _DEFER
        self.finish_request(conn, _completed(result))

    def finish_request(self, conn, fs):
        self.requests_in_worker -= 1
        super().finish_request(conn, fs)
