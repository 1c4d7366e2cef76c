"""gunicorn's threaded worker, accepting connections only while it can serve them.

All workers listen on one socket and race to accept. gunicorn's ``gthread`` worker accepts
whenever it is woken, busy or not, and a kept-alive connection then stays with the worker that
accepted it. When 16 clients connect at once (a load balancer's upstream pool, a benchmark), the
first worker to wake takes most of them: measured at 1M songs, 3 workers held 10, 5 and 1 of 16
connections, and once all 16 while the other two idled (bench/results/worker-configs-1M*.json).

``BalancedThreadWorker`` accepts only while one of its threads is free, so a busy worker leaves new
connections in the listen queue for an idle one. Under full load every worker is busy all the
time and the queue must still drain: a busy worker takes a connection once it has seen one
waiting for ``ACCEPT_WAIT_PER_CONNECTION_S`` per connection it holds (at most
``ACCEPT_WAIT_MAX_S``), so the worker holding fewer connections takes the next one first.
"""

from __future__ import annotations

import select
import time

from gunicorn.workers.gthread import ThreadWorker

#: What spotify_redux/gunicorn.conf.py runs unless GUNICORN_WORKER_CLASS / GUNICORN_THREADS say
#: otherwise (bench/serve.py's gunicorn floors read the same).
DEFAULT_WORKER_CLASS = "spotify_redux.workers.BalancedThreadWorker"
DEFAULT_THREADS = 1

#: A busy worker holding N connections takes one that has waited N times this (at most the maximum).
ACCEPT_WAIT_PER_CONNECTION_S = 0.005
ACCEPT_WAIT_MAX_S = 0.1


class BalancedThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests_in_worker = 0  # running in a thread or queued for one
        self.waiting_seen_since: float | None = None  # busy, and a connection has been waiting since
        self.listen_queue = select.poll()  # poll, not select(): any descriptor number

    def init_process(self):
        # In the forked worker, where self.sockets are final (per worker with reuse_port).
        for listener in self.sockets:
            self.listen_queue.register(listener, select.POLLIN)
        super().init_process()  # runs the worker until it stops

    def can_take_connection(self) -> bool:
        """A free thread, or busy while a connection has waited long enough for every other worker
        to be busy too. Asked whenever the worker wakes (a request done, a connection readable; at
        least once a second), so the wait is measured from this worker's first sight of it."""
        if self.requests_in_worker < self.cfg.threads:
            self.waiting_seen_since = None
            return True
        if not self.listen_queue.poll(0):
            self.waiting_seen_since = None
            return False
        now = time.monotonic()
        if self.waiting_seen_since is None:
            self.waiting_seen_since = now
        return now - self.waiting_seen_since >= min(ACCEPT_WAIT_PER_CONNECTION_S * self.nr_conns, ACCEPT_WAIT_MAX_S)

    def set_accept_enabled(self, enabled):
        # The run loop asks again on every wake-up while the answer differs from what it wants.
        super().set_accept_enabled(enabled and self.can_take_connection())

    def accept(self, listener):
        self.waiting_seen_since = None
        super().accept(listener)

    def enqueue_req(self, conn):
        # Every request passes here: a new connection's first, a kept-alive or deferred
        # connection's next. The one that takes the last free thread stops accepting at once.
        self.requests_in_worker += 1
        if not self.can_take_connection():
            ThreadWorker.set_accept_enabled(self, False)
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self.requests_in_worker -= 1
        super().finish_request(conn, fs)
