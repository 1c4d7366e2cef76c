"""Live checks against the server as deployed: schemathesis fuzzing, then fault injection.

    .venv/bin/python .ci/live_checks.py            # what .ci/run calls (about 3-4 minutes)
    .venv/bin/python .ci/live_checks.py --fuzz-s 60 --skip-faults

Starts services of its own on ports no one else uses: a PostgreSQL cluster on 5441 (initdb into a
temporary directory, run as the ``postgres`` user), a Redis on 6391, and gunicorn (DEBUG=0, the
project's gunicorn.conf.py) on 8201, with a small demo model trained by the project's commands.
The machine's shared PostgreSQL and Redis are never touched.

1. schemathesis against /api/schema, once without a token and once with one: every operation,
   checks: no 5xx, status code / content type / response schema conformance, auth enforcement
   (``ignored_auth``). Bounded by ``--fuzz-s`` per run.
2. Faults under load (several client threads hitting DB-backed, cache-backed and model-only
   endpoints): Redis stopped and restarted; PostgreSQL stopped and restarted; a malformed
   manifest published while serving. Asserts no 500 at any time, the documented degradation
   while a part is down, and recovery without restarting the server.
3. gunicorn's own limits: an over-long request line and header answer 414/431 (documented
   HTML from gunicorn, see README "Errors"), never a 500.

Prints the figures docs/SECURITY.md quotes and exits non-zero on any failed expectation.
Every service it started is stopped on exit, whatever happens.
"""

from __future__ import annotations

import argparse
import collections
import glob
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_PORT = 5441
REDIS_PORT = 6391
HTTP_PORT = 8201
HOST = "127.0.0.1"
RECOVERY_LIMIT_S = 20.0


class CheckFailed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)
    print(f"  ok: {message}", flush=True)


# ------------------------------------------------------------------------------------------------
# Services


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def wait_until(predicate, timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    raise CheckFailed(f"{what} within {timeout_s:g} s")


class Services:
    """PostgreSQL, Redis and gunicorn of this run; every one is stopped by ``stop_all``."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.pg_data = work / "pg"
        self.redis: subprocess.Popen | None = None
        self.server: subprocess.Popen | None = None
        self.pg_bin = self.postgres_bin()
        self.pg_started = False

    @staticmethod
    def postgres_bin() -> Path:
        """The newest installed PostgreSQL's programs (Debian keeps them out of PATH)."""
        return Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])

    def _as_postgres(self, *cmd: str) -> list[str]:
        return list(cmd) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *cmd]

    def start_postgres(self) -> None:
        if port_open(PG_PORT):
            raise CheckFailed(f"port {PG_PORT} is taken: another run is going on?")
        if not self.pg_data.exists():
            self.pg_data.mkdir(parents=True)
            if os.geteuid() == 0:
                shutil.chown(self.work, "postgres")
                shutil.chown(self.pg_data, "postgres")
            subprocess.run(
                self._as_postgres(str(self.pg_bin / "initdb"), "-D", str(self.pg_data), "-U", "postgres",
                                  "--auth=trust", "-E", "UTF8"),
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        options = f"-p {PG_PORT} -k {self.pg_data} -c listen_addresses={HOST} -c fsync=off"
        subprocess.run(
            self._as_postgres(str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-o", options,
                              "-l", str(self.pg_data / "log"), "-w", "start"),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.pg_started = True

    def stop_postgres(self) -> None:
        subprocess.run(
            self._as_postgres(str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-m", "fast", "-w", "stop"),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.pg_started = False

    def start_redis(self) -> None:
        if port_open(REDIS_PORT):
            raise CheckFailed(f"port {REDIS_PORT} is taken: another run is going on?")
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(REDIS_PORT), "--bind", HOST, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(REDIS_PORT), 10, "Redis did not start")

    def stop_redis(self) -> None:
        if self.redis and self.redis.poll() is None:
            self.redis.terminate()
            self.redis.wait(10)
        self.redis = None

    def start_server(self, env: dict[str, str]) -> None:
        log = open(self.work / "gunicorn.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.server = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "-c", "spotify_redux/gunicorn.conf.py", "spotify_redux.wsgi"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(lambda: request("GET", "/health")[0] == 200, 60, "the server did not answer /health")

    def stop_server(self) -> None:
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(15)
            except subprocess.TimeoutExpired:
                self.server.kill()
        self.server = None

    def stop_all(self) -> None:
        self.stop_server()
        self.stop_redis()
        if self.pg_started:
            self.stop_postgres()


# ------------------------------------------------------------------------------------------------
# HTTP


def request(method: str, path: str, body=None, headers=None, timeout: float = 10.0) -> tuple[int, dict, dict]:
    """(status, JSON body or {}, headers); status 0 when the connection failed."""
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection(HOST, HTTP_PORT, timeout=timeout)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"_raw": raw[:200].decode("latin-1")}
        return response.status, parsed, {k.lower(): v for k, v in response.getheaders()}
    except OSError:
        return 0, {}, {}
    finally:
        connection.close()


def raw_request(payload: bytes) -> tuple[int, str]:
    with socket.create_connection((HOST, HTTP_PORT), timeout=10) as sock:
        sock.sendall(payload)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    content_type = next(
        (
            line.split(b":", 1)[1].strip().decode()
            for line in rest.split(b"\r\n")
            if line.lower().startswith(b"content-type")
        ),
        "",
    )
    return int(status_line.split()[1]), content_type


# ------------------------------------------------------------------------------------------------
# Load


class Load:
    """Client threads cycling through a mix of endpoints, recording every answer by the phase its
    request was sent in (so a slow login sent before a fault and answered after it counts before)."""

    def __init__(self, token: str, seeds: list[str], threads: int = 6) -> None:
        self.token = token
        self.seeds = seeds
        self.threads = threads
        self.phase = "start"
        self.answers: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.bodies: dict[tuple[str, str, int], dict] = {}
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.username, self.password = "loadclient", "correct-horse-battery"

    def mix(self):
        auth = {"Authorization": f"Bearer {self.token}"}
        credentials = {"username": self.username, "password": self.password}
        # Login (a deliberately slow password hash) once per two rounds of the other five.
        others = [
            ("likes", lambda: request("GET", "/likes", headers=auth)),
            ("search", lambda: request("GET", "/catalog/search?q=a&limit=5")),
            ("login", lambda: request("POST", "/auth/login", credentials)),
            ("cold-start-anonymous", lambda: request("POST", "/recommendations/cold-start", {"seeds": self.seeds[:3]})),
            ("similar-anonymous", lambda: request("POST", "/recommendations/similar", {"song": self.seeds[0]})),
            ("health", lambda: request("GET", "/health")),
        ]
        login = [entry for entry in others if entry[0] == "login"]
        others = [entry for entry in others if entry[0] != "login"]
        return others + others + login

    def _run(self, offset: int) -> None:
        mix = self.mix()
        n = offset
        while not self._stop.is_set():
            name, call = mix[n % len(mix)]
            n += 1
            phase = self.phase  # a request counts for the phase it was sent in
            status, body, headers = call()
            with self._lock:
                self.answers[phase][(name, status)] += 1
                key = (phase, name, status)
                if key not in self.bodies:
                    self.bodies[key] = {"body": body, "retry-after": headers.get("retry-after")}

    def start(self) -> None:
        for offset in range(self.threads):
            worker = threading.Thread(target=self._run, args=(offset,), daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(15)

    def statuses(self, phase: str, name: str | None = None) -> collections.Counter:
        counter = collections.Counter()
        for (endpoint, status), count in self.answers[phase].items():
            if name is None or endpoint == name:
                counter[status] += count
        return counter


def ready_parts_down() -> list[str] | None:
    status, body, _ = request("GET", "/health/ready")
    return body.get("down") if status in (200, 503) else None


def run_phase(load: Load, name: str, seconds: float) -> None:
    load.phase = name
    time.sleep(seconds)


def summarize(load: Load, phase: str) -> None:
    rows = collections.defaultdict(collections.Counter)
    for (endpoint, status), count in load.answers[phase].items():
        rows[endpoint][status] += count
    total = sum(load.statuses(phase).values())
    print(f"  [{phase}] {total} requests: " + "; ".join(f"{e} {dict(c)}" for e, c in sorted(rows.items())))


def no_server_errors(load: Load, phase: str) -> None:
    counts = load.statuses(phase)
    bad = {status: n for status, n in counts.items() if (status >= 500 and status != 503) or status == 0}
    expect(not bad, f"{phase}: no 500 and no dropped connection in {sum(counts.values())} requests ({dict(counts)})")


def outage(load: Load, name: str, service: str, part: str, stop, start, phase_s: float, check_down) -> float:
    """One service stopped under load and started again: no 500 and no dropped connection while it
    stops, is down and returns; ``check_down(phase)`` asserts what each endpoint answers meanwhile;
    /health/ready names ``part`` while it is down; every answer is 200 once it is back, without a
    restart. Returns the seconds until /health/ready was ready again."""
    load.phase = f"{name}-stopping"
    stop()
    run_phase(load, f"{name}-stopping", 1)  # requests in flight when it stopped may finish
    no_server_errors(load, f"{name}-stopping")
    run_phase(load, f"{name}-down", phase_s)
    summarize(load, f"{name}-down")
    no_server_errors(load, f"{name}-down")
    check_down(f"{name}-down")
    expect(ready_parts_down() == [part], f"{name} down: /health/ready is 503 naming the {part}")
    start()
    load.phase = f"{name}-returning"
    recovery_s = wait_until(lambda: ready_parts_down() == [], RECOVERY_LIMIT_S, f"ready again after {service} returned")
    no_server_errors(load, f"{name}-returning")
    run_phase(load, f"{name}-back", phase_s)
    summarize(load, f"{name}-back")
    expect(set(load.statuses(f"{name}-back")) <= {200}, f"{name} back: every answer is 200 again, no restart")
    return round(recovery_s, 2)


# ------------------------------------------------------------------------------------------------
# The checks


def fuzz(token: str, seconds: int, report_dir: Path) -> dict:
    """schemathesis without and with a token; returns the figures."""
    figures = {}
    checks = (
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,ignored_auth"
    )
    # schemathesis signs up and logs in by itself when it finds a signup endpoint: off, so the
    # anonymous run is anonymous and the other one uses exactly our token.
    config = report_dir / "schemathesis.toml"
    config.write_text("[auth]\nauto-signup = false\n")
    # One worker: with two, hypothesis' description of filter lambdas raced ("AST constructor
    # recursion depth mismatch") and schemathesis reported a runtime error of its own, not ours.
    for label, headers in (("anonymous", []), ("with-token", ["-H", f"Authorization: Bearer {token}"])):
        report = report_dir / f"schemathesis-{label}.json"
        cmd = [
            str(Path(PYTHON).parent / "schemathesis"), "--config-file", str(config),
            "run", f"http://{HOST}:{HTTP_PORT}/api/schema",
            "--checks", checks, "--max-time", str(seconds), "--workers", "1", "--seed", "11",
            "--phases", "examples,coverage,fuzzing", "--generation-database", "none",
            "--request-timeout", "10", "--no-color", "--report", "json", "--report-json-path", str(report),
            *headers,
        ]  # fmt: skip
        print("$", " ".join(c if "Bearer" not in c else "Authorization: Bearer <token>" for c in cmd), flush=True)
        started = time.monotonic()
        # cwd: schemathesis keeps a .schemathesis/ cache in its working directory, not in the repository.
        done = subprocess.run(cmd, cwd=report_dir, capture_output=True, text=True, timeout=seconds + 120)
        elapsed = time.monotonic() - started
        tail = "\n".join(done.stdout.strip().splitlines()[-25:])
        print(tail if done.returncode == 0 else done.stdout + done.stderr, flush=True)
        figures[label] = {"exit_code": done.returncode, "seconds": round(elapsed, 1), "summary": tail[-1500:]}
        expect(done.returncode == 0, f"schemathesis ({label}) found no failure in {elapsed:.0f} s")
    return figures


def faults(services: Services, env: dict[str, str], token: str, seeds: list[str], phase_s: float) -> dict:
    figures: dict[str, object] = {}
    # The load's own account (the fuzzer's token has toggled likes at random).
    status, body, _ = request("POST", "/auth/signup", {"username": "loadclient", "password": "correct-horse-battery"})
    expect(status == 201, "the load client's account")
    token = body["access_token"]
    status, _, _ = request("POST", "/likes/toggle", {"song_id": seeds[5]}, headers={"Authorization": f"Bearer {token}"})
    expect(status == 200, "a like stored before the faults")
    load = Load(token, seeds)
    load.start()
    try:
        run_phase(load, "baseline", phase_s)
        summarize(load, "baseline")
        counts = load.statuses("baseline")
        expect(set(counts) <= {200}, f"baseline: every answer is 200 ({dict(counts)})")

        # --- Redis stopped under load ----------------------------------------------------------------
        def redis_down(phase: str) -> None:
            expect(set(load.statuses(phase, "login")) <= {200}, "redis down: login answers 200 (throttle fails open)")
            for endpoint in ("search", "likes", "cold-start-anonymous", "similar-anonymous"):
                expect(set(load.statuses(phase, endpoint)) <= {200}, f"redis down: {endpoint} answers 200")

        figures["redis_recovery_s"] = outage(
            load, "redis", "Redis", "cache", services.stop_redis, services.start_redis, phase_s, redis_down
        )

        # --- PostgreSQL stopped under load ---------------------------------------------------------
        def postgres_down(phase: str) -> None:
            for endpoint in ("likes", "search", "login"):
                counts = load.statuses(phase, endpoint)
                expect(set(counts) <= {503} and counts, f"postgres down: {endpoint} answers 503 ({dict(counts)})")
                sample = load.bodies[(phase, endpoint, 503)]
                expect(
                    sample["body"].get("code") == "database_unavailable" and sample["retry-after"] == "5",
                    f"postgres down: {endpoint} says database_unavailable with Retry-After: 5",
                )
            for endpoint in ("cold-start-anonymous", "similar-anonymous", "health"):
                expect(set(load.statuses(phase, endpoint)) <= {200}, f"postgres down: {endpoint} still 200")

        figures["postgres_recovery_s"] = outage(
            load,
            "postgres",
            "PostgreSQL",
            "database",
            services.stop_postgres,
            services.start_postgres,
            phase_s,
            postgres_down,
        )
        status, body, _ = request("GET", "/likes", headers={"Authorization": f"Bearer {token}"})
        expect(status == 200 and body["likes"] == [seeds[5]], "postgres back: the like stored before is still there")

        # --- A malformed manifest published while serving -------------------------------------
        sys.path.insert(0, str(ROOT))
        from ml import artifacts

        root = Path(env["ARTIFACTS_DIR"])
        good = artifacts.current_version(root)
        bad = "29990101T000000000Z-malforme"
        shutil.copytree(artifacts.version_dir(root, good), artifacts.version_dir(root, bad))
        manifest_file = artifacts.version_dir(root, bad) / artifacts.MANIFEST_FILE
        manifest = json.loads(manifest_file.read_text())
        manifest["counts"] = None
        manifest_file.write_text(json.dumps(manifest))
        load.phase = "bad-manifest"
        try:
            artifacts.set_current(root, bad)
            refused = False
        except artifacts.ArtifactError:
            refused = True
        expect(refused, "malformed manifest: set_current refuses it before the switch")
        # Switched by hand, as an operator's copy or an older publisher on another host could.
        link = root / artifacts.CURRENT_LINK
        link.unlink()
        link.symlink_to(Path(artifacts.VERSIONS_DIR) / bad)
        run_phase(load, "bad-manifest", phase_s)
        summarize(load, "bad-manifest")
        no_server_errors(load, "bad-manifest")
        expect(set(load.statuses("bad-manifest")) <= {200}, "malformed manifest: every answer is still 200")
        status, body, _ = request("GET", "/health")
        expect(body.get("model_version") == good, f"malformed manifest: the previous model {good} keeps serving")
        artifacts.set_current(root, good)
        shutil.rmtree(artifacts.version_dir(root, bad))
        run_phase(load, "manifest-restored", 2)
        expect(set(load.statuses("manifest-restored")) <= {200}, "manifest restored: every answer is 200")
    finally:
        load.stop()
    figures["requests"] = {phase: dict(load.statuses(phase)) for phase in load.answers}
    figures["requests_total"] = sum(sum(c.values()) for c in load.answers.values())
    figures["server_errors_500"] = sum(c[500] for c in (load.statuses(p) for p in load.answers))
    return figures


def gunicorn_limits() -> dict:
    # The longest line the schema allows (a 512-character seed of 4-byte characters, percent-
    # encoded) and a value just past its limit, which Django refuses in JSON.
    valid_seed = b"%F0%9F%8E%B5" * 512
    status, body, _ = request("GET", "/recommendations/categories?limit=2&seed=" + valid_seed.decode())
    expect(status == 404 and body.get("code") == "unknown_seed", f"a {len(valid_seed)}-byte seed: JSON {status}")
    status, body, _ = request("GET", "/recommendations/categories?seed=" + (valid_seed + b"%F0%9F%8E%B5").decode())
    expect(status == 400 and body.get("code") == "invalid", f"a 513-character seed: JSON {status} from Django")
    # Past the server's own limits: gunicorn's sync workers answer 414 / 431 in HTML before Django
    # runs (README "Errors"). Another worker class may pass the request on to Django (then a JSON
    # 400 for the over-long q, or 200 for a big harmless header); never a 5xx.
    line_status, line_type = raw_request(
        b"GET /catalog/search?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    header_status, header_type = raw_request(
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 9000 + b"\r\nConnection: close\r\n\r\n"
    )
    expect(line_status in (400, 414), f"a 9000-byte request line: {line_status} ({line_type})")
    expect(header_status in (200, 400, 431), f"a 9000-byte header: {header_status} ({header_type})")
    return {"request_line": [line_status, line_type], "header": [header_status, header_type]}


def prepare(env: dict[str, str], work: Path) -> None:
    def manage(*args: str) -> None:
        subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)

    subprocess.run(
        [str(Services.postgres_bin() / "createdb"), "-h", HOST, "-p", str(PG_PORT), "-U", "postgres", "spotify_live"],
        check=True,
    )
    manage("migrate", "--noinput")
    manage("make_demo_data", str(work / "demo.csv"), "--users", "400", "--songs", "600")
    manage("train", "--data", str(work / "demo.csv"), "--trials", "0", "--factors", "32", "--no-progress")
    manage("build_index")


def _exit_on_sigterm(signum, frame):
    raise SystemExit(143)  # runs the finally blocks that stop our services


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz-s", type=int, default=60, help="schemathesis time budget per run (default 60)")
    parser.add_argument("--phase-s", type=float, default=4.0, help="seconds of load per fault phase (default 4)")
    parser.add_argument("--skip-fuzz", action="store_true")
    parser.add_argument("--skip-faults", action="store_true")
    parser.add_argument("--results", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--reports", default=None, help="keep schemathesis' JSON reports in this directory")
    args = parser.parse_args()

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="spotify-live-"))
    os.chmod(work, 0o755)
    services = Services(work)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "CACHE_"))},
        "DEBUG": "0",
        "API_SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "DATABASE_URL": f"postgres://postgres@{HOST}:{PG_PORT}/spotify_live",
        "REDIS_URL": f"redis://{HOST}:{REDIS_PORT}/0",
        "DATA_DIR": str(work / "data"),
        "ARTIFACTS_DIR": str(work / "data" / "artifacts"),
        "COVERS_ENABLED": "0",
        "BIND": f"{HOST}:{HTTP_PORT}",
        "WEB_CONCURRENCY": "2",
        "THROTTLE_AUTH_RATE": "100000/minute",  # the load logs in continuously from one address
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    figures: dict[str, object] = {}
    try:
        if port_open(HTTP_PORT):
            raise CheckFailed(f"port {HTTP_PORT} is taken")
        services.start_postgres()
        services.start_redis()
        prepare(env, work)
        services.start_server(env)
        status, body, _ = request("POST", "/auth/signup", {"username": "fuzzer", "password": "correct-horse-battery"})
        expect(status == 201, "a user for the token runs")
        token = body["access_token"]
        _, songs, _ = request("GET", "/catalog/search?q=a&limit=25")
        seeds = [song["song_id"] for song in songs]
        expect(len(seeds) >= 6, "catalog songs to use as seeds")
        figures["gunicorn_limits"] = gunicorn_limits()
        if not args.skip_fuzz:
            reports = Path(args.reports) if args.reports else work
            reports.mkdir(parents=True, exist_ok=True)
            figures["fuzz"] = fuzz(token, args.fuzz_s, reports)
        if not args.skip_faults:
            figures["faults"] = faults(services, env, token, seeds, args.phase_s)
        figures["seconds"] = round(time.monotonic() - started, 1)
        print(json.dumps({k: v for k, v in figures.items() if k != "fuzz"}, indent=1))
        if args.results:
            Path(args.results).write_text(json.dumps(figures, indent=1) + "\n")
        print(f"live checks passed in {figures['seconds']} s")
        return 0
    except (CheckFailed, subprocess.CalledProcessError) as exc:
        print(f"LIVE CHECK FAILED: {exc}", file=sys.stderr)
        log = work / "gunicorn.log"
        if log.exists():
            print("--- gunicorn log (last 40 lines) ---", file=sys.stderr)
            print("\n".join(log.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
        return 1
    finally:
        services.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
