"""spotify_redux/gunicorn.conf.py: two instances on one host never share a control socket or a
metrics directory."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "spotify_redux" / "gunicorn.conf.py"


def load(monkeypatch, tmp_path: Path, **env: str) -> dict:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("GUNICORN_CONTROL_SOCKET", raising=False)
    monkeypatch.delenv("GUNICORN_WORKER_TMP_DIR", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(CONF))
    config["metrics_dir"] = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    return config


def test_each_bind_address_gets_its_own_control_socket_and_metrics_dir(monkeypatch, tmp_path):
    first = load(monkeypatch, tmp_path, BIND="127.0.0.1:8401")
    second = load(monkeypatch, tmp_path, BIND="127.0.0.1:8402")
    assert first["control_socket"] != second["control_socket"]
    assert Path(first["control_socket"]).parent == tmp_path
    assert not first["control_socket_disable"]
    assert first["metrics_dir"] != second["metrics_dir"]
    assert Path(first["metrics_dir"]).is_dir()


def test_control_socket_can_be_named_or_turned_off(monkeypatch, tmp_path):
    named = load(monkeypatch, tmp_path, GUNICORN_CONTROL_SOCKET=str(tmp_path / "mine.ctl"))
    assert named["control_socket"] == str(tmp_path / "mine.ctl")
    assert load(monkeypatch, tmp_path, GUNICORN_CONTROL_SOCKET="off")["control_socket_disable"] is True


def test_a_restart_empties_old_metric_files_but_nothing_else(monkeypatch, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_123.db").write_bytes(b"old")
    (metrics_dir / "notes.txt").write_text("not ours")
    load(monkeypatch, tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    assert sorted(p.name for p in metrics_dir.iterdir()) == ["notes.txt"]


def test_the_worker_heartbeat_file_lives_in_memory_where_the_host_has_it(monkeypatch, tmp_path):
    expected = "/dev/shm" if os.path.isdir("/dev/shm") else None
    assert load(monkeypatch, tmp_path)["worker_tmp_dir"] == expected
    assert load(monkeypatch, tmp_path, GUNICORN_WORKER_TMP_DIR=str(tmp_path))["worker_tmp_dir"] == str(tmp_path)
