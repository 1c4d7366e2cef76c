"""manage.py models [--artifacts DIR] [--json]: the kept model versions, the current one marked."""

from __future__ import annotations

import dataclasses
import json

from django.core.management.base import BaseCommand

from ._ml import artifacts_root


def _size(num_bytes: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1024 or unit == "GB":
            return f"{num_bytes:.0f} {unit}" if unit == "B" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1024
    return ""


def _metric(metrics: dict, name: str) -> str:
    value = metrics.get(name)
    return f"{value:.3f}" if isinstance(value, int | float) else "-"


class Command(BaseCommand):
    help = (
        "List the kept model versions, oldest first: creation date, training rows, songs, size on disk, index, "
        "the served lists' test HitRate@10 (next-song, all-remaining) and NDCG@10 (all-remaining); the served one is "
        "marked with *. Publish one with `manage.py publish VERSION`."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--artifacts", default=None, help="Artifacts root (default: settings.ARTIFACTS_DIR).")
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *args, **options) -> None:
        from ml import artifacts

        root = artifacts_root(options["artifacts"])
        summaries = artifacts.summarize_versions(root)
        if options["json"]:
            self.stdout.write(json.dumps([dataclasses.asdict(s) for s in summaries], indent=1))
            return
        if not summaries:
            self.stdout.write(f"No model versions under {root / artifacts.VERSIONS_DIR}.")
            return
        self.stdout.write(
            f"  {'version':<32} {'created (UTC)':<20} {'rows':>11} {'songs':>9} {'size':>9} {'index':<6} "
            f"{'next HR@10':>10} {'HR@10':>6} {'NDCG@10':>7}"
        )
        for s in summaries:
            if s.problem:
                self.stdout.write(f"{'*' if s.is_current else ' '} {s.version:<32} unreadable: {s.problem}")
                continue
            rows = f"{s.data_rows:,}" if s.data_rows is not None else "-"
            songs = f"{s.songs:,}" if s.songs is not None else "-"
            self.stdout.write(
                f"{'*' if s.is_current else ' '} {s.version:<32} {s.created_at[:19].replace('T', ' '):<20} "
                f"{rows:>11} {songs:>9} {_size(s.size_bytes):>9} {s.index_kind or 'none':<6} "
                f"{_metric(s.metrics, 'next_song_hit_rate@10'):>10} {_metric(s.metrics, 'hit_rate@10'):>6} "
                f"{_metric(s.metrics, 'ndcg@10'):>7}"
            )
        self.stdout.write("* = current (served). `none` index: run build_index before it can be published.")
