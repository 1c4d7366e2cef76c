"""gunicorn settings: `gunicorn -c spotify_redux/gunicorn.conf.py spotify_redux.wsgi`.

The model is loaded once in the master (preload_app) and shared copy-on-write by the workers.
Each worker is one process with one BLAS/OpenMP/FAISS thread: on a 2-core machine the workers
are the parallelism, and extra math threads per worker only fight over the same cores.
"""

import contextlib
import glob
import multiprocessing
import os
import re

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotify_redux.settings")

from spotify_redux.workers import DEFAULT_THREADS, DEFAULT_WORKER_CLASS  # noqa: E402 - after the thread variables

bind = os.environ.get("BIND", "127.0.0.1:8000")
# One worker per core, one thread per worker, connections spread over the workers: the requests
# are CPU-bound under the GIL, so a second thread in a worker only interleaves two requests on one
# core, and a third worker on two cores only time-slices them; either way the slowest requests
# wait longest. Measured at 1M songs, 16 clients, medians of 3 interleaved rounds (docs/DEPLOY.md
# §2, bench/results/worker-configs-1M*.json): cold-start p99 29.4 ms with 2 balanced workers x 1
# thread against 56.2 ms with the former 3 x 4 plain gthread at the same req/s, and 47.2 ms with
# 2 balanced x 4 threads (the worker's first version). The price: a request waiting on the network
# (GET /cover's provider look-up, at most COVER_BUDGET_S) holds its worker; raise
# GUNICORN_THREADS where clients call /cover often.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
# gthread, not sync: a sync worker closes the connection after every response, so each request
# paid a TCP handshake and an accept() in the worker; gthread keeps connections alive (`keepalive`)
# and parks idle ones in a poller, not in a thread. Ours accepts only while it can serve
# (spotify_redux/workers.py): plain gthread once let one worker take all 16 of 16 connections.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", DEFAULT_WORKER_CLASS)
threads = int(os.environ.get("GUNICORN_THREADS", DEFAULT_THREADS))
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT_S", 30))
graceful_timeout = 10
keepalive = 5
# gunicorn's largest request line (default 4094). Every request the schema allows fits under it,
# even a 512-character seed of 4-byte UTF-8 characters percent-encoded (12 bytes each), so a
# value over a documented limit gets our JSON 400; only lines past 8190 bytes get gunicorn's own
# HTML 414 (README "Errors").
limit_request_line = 8190
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
# The workers' heartbeat file, touched before every request they serve inline: in RAM, as
# gunicorn's docs advise. On a disk-backed filesystem a touch can wait on the journal.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def _control_socket_path(bind_address: str) -> str:
    """A control socket of this instance's own. gunicorn's default is one path per user
    (``~/.gunicorn/gunicorn.ctl``), so a second instance on the host takes it over and, when
    either stops, unlinks the other's socket. A host cannot bind one address twice, so a
    path named after the bind address is unique per running instance."""
    runtime = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(os.path.expanduser("~"), ".gunicorn")
    return os.path.join(runtime, "spotify-redux-" + re.sub(r"[^A-Za-z0-9.]+", "_", bind_address) + ".ctl")


# GUNICORN_CONTROL_SOCKET: a path for `gunicornc -s PATH`, or "off" to run without one.
_control = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
control_socket_disable = _control.lower() in {"off", "0", "none", "false"}
control_socket = _control if _control and not control_socket_disable else _control_socket_path(bind)


def post_fork(server, worker):
    import faiss

    faiss.omp_set_num_threads(1)
    from core.metrics import worker_forked

    worker_forked()


# Prometheus multiprocess mode (core/metrics.py): each process writes its metrics to files in this
# directory and /metrics merges them. One directory per instance (named after the bind address),
# emptied of metric files here, when the master reads this file and before it preloads the app, so counters begin
# at zero and no dead process's gauges linger. Must be set before prometheus_client is imported.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or _control_socket_path(bind).replace(".ctl", "-metrics")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
os.makedirs(_metrics_dir, exist_ok=True)
for _stale in glob.glob(os.path.join(_metrics_dir, "*.db")):  # only prometheus-client's own files
    # An instance on this address that is still stopping removes its dead workers' files too.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_stale)


def when_ready(server):
    # The master preloaded the model but serves nothing: drop its per-process gauges, so the
    # model version series are the workers' alone.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(os.getpid())


def pre_fork(server, worker):
    # Database connections persist (settings.CONN_MAX_AGE); one the master opened (today it opens
    # none: preloading reads model files only) must not be inherited by any worker it forks, the
    # first ones or a replacement (SQLite forbids using a connection across a fork, and two
    # processes on one PostgreSQL socket garble the protocol). Workers open their own.
    from django.db import connections

    connections.close_all()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
