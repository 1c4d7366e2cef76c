"""Worker memory before and after a hot model reload: is the model still shared?

    .venv/bin/python bench/reload_memory.py [--artifacts var/bench/big-20000x256/artifacts]

Serves a published model with gunicorn (the product's config: preload_app, workers = cores)
on 127.0.0.1:8440, measures each worker's RSS / private / PSS, publishes a byte-identical copy of
the version under a new name (so every worker reloads it on its next request), sends requests,
and measures again; then switches back and removes the copy. Default artifacts: the 20k-song
synthetic model ``bench/big_serve.py --songs 20000`` leaves. Saves bench/results/reload_memory.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs
from serve import memory_of, production_env, workers_of

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml import artifacts  # noqa: E402

BASE = "http://127.0.0.1:8440"


def requests(song: str, n: int) -> None:
    body = json.dumps({"song": song}).encode()
    for _ in range(n):
        request = urllib.request.Request(
            BASE + "/recommendations/similar", data=body, headers={"Content-Type": "application/json"}
        )
        urllib.request.urlopen(request, timeout=60).read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", type=Path, default=ROOT / "var" / "bench" / "big-20000x256" / "artifacts")
    args = parser.parse_args()
    root = args.artifacts.resolve()
    version = artifacts.current_version(root)
    song = artifacts.load_items(artifacts.version_dir(root, version))[0]["song_id"]
    work = Path(tempfile.mkdtemp(prefix="bench-reload-"))
    env = production_env(database=work / "bench.db", artifacts=root, bind=BASE.removeprefix("http://"), REQUEST_LOG="0")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    log = open(work / "gunicorn.log", "w")  # noqa: SIM115 - closed at the end
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "spotify_redux/gunicorn.conf.py", "spotify_redux.wsgi"],
        env=env,
        cwd=ROOT,
        stderr=log,
    )
    copy = artifacts.version_dir(root, version + "-copy")
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(BASE + "/health", timeout=5).read()
                break
            except OSError:
                time.sleep(1)
        requests(song, 60)
        before = {pid: memory_of(pid) for pid in workers_of(server.pid)}
        shutil.copytree(artifacts.version_dir(root, version), copy)
        manifest = json.loads((copy / artifacts.MANIFEST_FILE).read_text())
        (copy / artifacts.MANIFEST_FILE).write_text(json.dumps({**manifest, "version": copy.name}))
        artifacts.set_current(root, copy.name)
        time.sleep(1.5)
        requests(song, 120)
        after = {pid: memory_of(pid) for pid in workers_of(server.pid)}
    finally:
        artifacts.set_current(root, version)
        server.terminate()
        server.wait(timeout=60)
        log.close()
        shutil.rmtree(copy, ignore_errors=True)
    for pid in after:
        print(
            f"worker {pid}: private {before[pid]['private_mb']:.0f} -> {after[pid]['private_mb']:.0f} MB, "
            f"RSS {before[pid]['rss_mb']:.0f} -> {after[pid]['rss_mb']:.0f} MB"
        )
    out = save_results(
        RESULTS_DIR / "reload_memory.json",
        {"artifacts": str(root), "version": version, "before": before, "after_hot_reload": after},
    )
    print(f"Saved {out}")


if __name__ == "__main__":
    main()
