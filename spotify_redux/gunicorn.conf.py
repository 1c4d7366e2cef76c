"""gunicorn settings: `gunicorn -c spotify_redux/gunicorn.conf.py spotify_redux.wsgi`.

The model is loaded once in the master (preload_app) and shared copy-on-write by the workers.
Each worker is one process with one BLAS/OpenMP/FAISS thread: on a 2-core machine the workers
are the parallelism, and extra math threads per worker only fight over the same cores.
"""

import multiprocessing
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotify_redux.settings")

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
# gthread, not sync: a sync worker closes the connection after every response, so each request
# paid a TCP handshake and an accept() in the worker; gthread keeps connections alive (`keepalive`)
# and parks idle ones in a poller, not in a thread. The handlers are CPU-bound under the GIL, so a
# few threads per worker are enough to overlap a request's network and cache waits.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", 4))
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
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def post_fork(server, worker):
    import faiss

    faiss.omp_set_num_threads(1)
