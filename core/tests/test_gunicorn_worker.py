"""spotify_redux/workers.py under a real gunicorn: clients that connect at once are spread over the
workers, no connection waits for long while every worker is busy, a worker busy with a kept-alive
client's request leaves a new client to an idle worker, and (served inline, one thread) clients
that connect and send nothing hold no worker up.

The server runs a tiny WSGI app from this module (one request = a few milliseconds of work; the
answer is the serving process id), so the test needs no model and takes a few seconds.
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
CLIENTS = 16
LOAD_S = 2.0
SLOW_S = 0.3  # the /slow request
FIRST_SEND_DELAY_S = 0.003  # the most a load() client waits between connecting and sending


def app(environ, start_response):
    # A request's work; the worker's only thread is busy meanwhile.
    time.sleep(SLOW_S if environ["PATH_INFO"] == "/slow" else 0.004)
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn_serving(
    worker_class: str = "spotify_redux.workers.BalancedThreadWorker",
    threads: int = 1,
    workers: int = WORKERS,
    timeout_s: int = 30,
) -> Iterator[int]:
    """A real gunicorn serving this module's app, every worker up; yields its port."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            str(timeout_s),
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
            "--worker-class",
            worker_class,
            "--no-control-socket",
            "core.tests.test_gunicorn_worker:app",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    try:
        while True:
            assert server.poll() is None, "gunicorn exited"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        # Every worker up (each answers from its own pid) before the clients arrive at once.
        pids: set[str] = set()
        while len(pids) < workers:
            assert time.monotonic() < deadline, "not every worker started"
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/", headers={"Connection": "close"})
            pids.add(connection.getresponse().read().decode())
            connection.close()
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def load(port: int) -> list[dict]:
    """CLIENTS keep-alive clients connect together, each sends its first request up to
    FIRST_SEND_DELAY_S later (as over a network), then requests back to back for LOAD_S."""
    start = threading.Barrier(CLIENTS)
    clients = [{"pids": Counter(), "errors": 0, "first_reply_s": None} for _ in range(CLIENTS)]
    delays = random.Random(0).sample(range(CLIENTS), CLIENTS)

    def client(record: dict, delay_s: float) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start.wait()
        began = time.monotonic()
        connection.connect()
        time.sleep(delay_s)
        while time.monotonic() - began < LOAD_S:
            try:
                connection.request("GET", "/")
                response = connection.getresponse()
                pid = response.read().decode()
            except OSError:
                record["errors"] += 1
                return
            if response.status != 200:
                record["errors"] += 1
            record["pids"][pid] += 1
            if record["first_reply_s"] is None:
                record["first_reply_s"] = time.monotonic() - began
        connection.close()

    threads = [
        threading.Thread(target=client, args=(record, FIRST_SEND_DELAY_S * delay / CLIENTS))
        for record, delay in zip(clients, delays, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return clients


@pytest.mark.parametrize("threads", [1, 2], ids=["served inline", "thread pool"])
def test_clients_connecting_at_once_are_spread_over_the_workers_and_none_waits_long(threads):
    with gunicorn_serving(threads=threads) as port:
        clients = load(port)
    assert all(record["errors"] == 0 for record in clients)
    # A kept-alive connection stays with the worker that accepted it.
    assert all(len(record["pids"]) == 1 for record in clients), [record["pids"] for record in clients]
    per_worker = Counter(next(iter(record["pids"])) for record in clients)
    assert len(per_worker) == WORKERS
    assert max(per_worker.values()) - min(per_worker.values()) <= 2, per_worker
    # Under full load (every worker always busy) the waiting connections were still taken soon.
    assert max(record["first_reply_s"] for record in clients) < 1.0


def get(connection: http.client.HTTPConnection, path: str = "/") -> str:
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200
    return response.read().decode()


def test_a_worker_busy_with_a_kept_alive_clients_request_leaves_a_new_client_to_an_idle_worker():
    with gunicorn_serving() as port:
        for _ in range(5):
            kept = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            busy_pid = get(kept)  # connected and idle, kept alive
            slow = threading.Thread(target=get, args=(kept, "/slow"))
            slow.start()
            time.sleep(0.05)  # its worker's only thread is now in the slow request
            newcomer = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            began = time.monotonic()
            served_by = get(newcomer)
            waited = time.monotonic() - began
            slow.join()
            kept.close()
            newcomer.close()
            assert served_by != busy_pid
            assert waited < SLOW_S / 2


def test_clients_that_connect_and_send_nothing_hold_no_worker_up():
    """gthread's thread waits up to 5 s for a new connection's first request; served inline, the
    connection waits in the poller and the worker serves the others meanwhile."""
    silent = []
    with gunicorn_serving() as port:
        for _ in range(2 * WORKERS):  # every worker accepts at least one of them
            silent.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            time.sleep(0.05)
        for _ in range(4):
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            began = time.monotonic()
            get(client)
            assert time.monotonic() - began < 0.5
            client.close()
        # The silent ones are still open and still get an answer when they speak.
        silent[0].sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert silent[0].recv(1024).startswith(b"HTTP/1.1 200")
        for connection in silent:  # before the server stops: it would wait for them
            connection.close()


def test_a_round_of_slow_requests_served_inline_does_not_look_like_a_hung_worker():
    """Served inline, one poll round may hold several ready requests: together longer than the
    worker timeout, they must not get the worker killed (the heartbeat goes out per request)."""
    with gunicorn_serving(workers=1, timeout_s=1) as port:
        clients = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(10)]
        for client in clients:
            get(client)  # connected and kept alive
        answers: list[int] = []

        def slow(client: http.client.HTTPConnection) -> None:
            client.request("GET", "/slow")
            answers.append(client.getresponse().status)

        threads = [threading.Thread(target=slow, args=(client,)) for client in clients]
        for thread in threads:  # 10 x SLOW_S = 3 s of requests, ready at once, timeout 1 s
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == [200] * len(clients)
        for client in clients:
            client.close()


def test_an_idle_worker_holding_a_silent_connection_takes_a_newcomer_at_once():
    with gunicorn_serving(workers=1) as port:
        kept = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(20)]
        for client in kept:
            get(client)  # 20 idle kept-alive connections: a busy worker would wait 100 ms
        silent = socket.create_connection(("127.0.0.1", port), timeout=10)
        time.sleep(0.1)  # accepted, waiting for a request that does not come
        newcomer = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        began = time.monotonic()
        get(newcomer)
        assert time.monotonic() - began < 0.05
        for client in [newcomer, *kept, silent]:
            client.close()
