"""gunicorn's threaded worker, accepting connections only while it can serve them.

All workers listen on one socket and race to accept. gunicorn's ``gthread`` worker accepts
whenever it is woken, busy or not, and a kept-alive connection then stays with the worker that
accepted it. When 16 clients connect at once (a load balancer's upstream pool, a benchmark), the
first worker to wake takes most of them: measured at 1M songs, 3 workers held 12, 3 and 1 of 16
connections, so one worker queued three quarters of the requests while another idled.

``BalancedThreadWorker`` accepts only while one of its threads is free, so a busy worker leaves new
connections in the listen queue for an idle one. Under full load every worker is busy all the
time and the queue must still drain: a busy worker takes a connection once it has accepted none
for ``ACCEPT_WAIT_PER_CONNECTION_S`` per connection it holds (at most ``ACCEPT_WAIT_MAX_S``), so
the worker holding fewer connections takes the next one first.
"""

from __future__ import annotations

import time

from gunicorn.workers.gthread import ThreadWorker

#: What spotify_redux/gunicorn.conf.py runs unless GUNICORN_WORKER_CLASS / GUNICORN_THREADS say
#: otherwise (bench/serve.py's gunicorn floors read the same).
DEFAULT_WORKER_CLASS = "spotify_redux.workers.BalancedThreadWorker"
DEFAULT_THREADS = 1

#: A busy worker holding N connections takes a waiting one after N times this without accepting,
#: and never waits longer than the maximum.
ACCEPT_WAIT_PER_CONNECTION_S = 0.005
ACCEPT_WAIT_MAX_S = 0.1


class BalancedThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests_in_worker = 0  # running in a thread or queued for one
        self.last_accept = 0.0

    def can_take_connection(self) -> bool:
        if self.requests_in_worker < self.cfg.threads:
            return True
        wait = min(ACCEPT_WAIT_PER_CONNECTION_S * self.nr_conns, ACCEPT_WAIT_MAX_S)
        return time.monotonic() - self.last_accept >= wait

    def set_accept_enabled(self, enabled):
        # The run loop asks again on every wake-up while the answer differs from what it wants.
        super().set_accept_enabled(enabled and self.can_take_connection())

    def accept(self, listener):
        self.last_accept = time.monotonic()
        super().accept(listener)
        if not self.can_take_connection():
            super().set_accept_enabled(False)

    def enqueue_req(self, conn):
        self.requests_in_worker += 1
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self.requests_in_worker -= 1
        super().finish_request(conn, fs)
