"""manage.py warm_covers: fill the cover cache and Song.cover_url for the most popular songs."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from catalog.covers.store import covers_enabled
from catalog.covers.warm import covers_warm, covers_warm_plan

DEFAULT_LIMIT = 1000
DEFAULT_RATE_PER_S = 2.0


class Command(BaseCommand):
    help = (
        "Look up cover art for the most popular available songs and store it in the cover cache and "
        "Song.cover_url. Rate-limited; with --only-missing, resumes where an earlier run stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=int, default=DEFAULT_LIMIT, help=f"Most popular N songs (default {DEFAULT_LIMIT})."
        )
        parser.add_argument(
            "--only-missing",
            action="store_true",
            help="Skip songs that already have a cover_url or a cached answer (copies cached covers to rows).",
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=DEFAULT_RATE_PER_S,
            help=f"At most this many look-ups per second (default {DEFAULT_RATE_PER_S:g}); "
            "MusicBrainz is further held to COVER_MUSICBRAINZ_INTERVAL_S.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Say what would be done; look nothing up.")

    def handle(self, *args, limit: int, only_missing: bool, rate: float, dry_run: bool, **options) -> None:
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        if rate <= 0:
            raise CommandError("--rate must be greater than 0.")
        if not covers_enabled() and not dry_run:
            raise CommandError(
                "COVERS_ENABLED is off, so no look-ups are allowed; set COVERS_ENABLED=1 to warm covers."
            )

        plan = covers_warm_plan(limit=limit, only_missing=only_missing)
        self.stdout.write(
            f"{plan.songs} songs: {len(plan.to_look_up)} to look up, {len(plan.to_copy)} covers to copy from the "
            f"cache, {plan.skipped} already done."
        )
        if dry_run:
            return

        # tqdm needs the raw stream: OutputWrapper appends a newline to every write.
        stream = getattr(self.stderr, "_out", sys.stderr)

        def progress(items):
            return tqdm(items, total=len(plan.to_look_up), desc="covers", unit="song", file=stream, mininterval=0.5)

        try:
            report = covers_warm(plan=plan, rate_per_s=rate, progress=progress)
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted; rows written so far are kept. Re-run with --only-missing to resume."
            ) from None
        providers = ", ".join(f"{name} {count}" for name, count in sorted(report.by_provider.items())) or "none"
        self.stdout.write(
            self.style.SUCCESS(
                f"Looked up {report.looked_up}: {report.found} covers ({providers}), "
                f"{report.no_cover} without a cover, {report.incomplete} incomplete (a provider failed; retried "
                f"later); copied {report.from_cache} from the cache; {report.skipped} skipped."
            )
        )
