"""manage.py make_demo_data [--users N --songs M --seed S] OUT.csv"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Write a deterministic, license-clean synthetic scrobble file (Last.fm format: Username,Artist,Track,"
        "Album,Date,Time) with genres, power-law popularity and artists with several tracks."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("out", metavar="OUT.csv", help="Where to write the CSV.")
        parser.add_argument("--users", type=int, default=1500, help="Number of listeners (default 1500).")
        parser.add_argument("--songs", type=int, default=4000, help="Number of tracks (default 4000).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")

    def handle(self, *args, **options) -> None:
        from ml.demo import make_demo_data

        if options["users"] < 1 or options["songs"] < 1:
            raise CommandError("--users and --songs must be positive.")
        out = Path(options["out"])
        if out.is_dir():
            raise CommandError(f"{out} is a directory; give a file name such as {out / 'demo.csv'}.")
        try:
            summary = make_demo_data(out, users=options["users"], songs=options["songs"], seed=options["seed"])
        except OSError as exc:
            raise CommandError(f"Cannot write {out}: {exc.strerror or exc}.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {summary.rows} plays by {summary.users} listeners of {summary.songs} tracks "
                f"({summary.artists} artists, {summary.genres} genres) to {summary.path}."
            )
        )
