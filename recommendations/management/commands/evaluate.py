"""manage.py evaluate [--artifacts DIR] [--model-version V] [--json [PATH]]"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ._ml import artifacts_root, ml_errors, quiet_libraries


class Command(BaseCommand):
    help = (
        "Re-run both test protocols on a model version (default: the published one): next-song HitRate@10, MRR@10, "
        "NDCG@10 and all-remaining HitRate@10, NDCG@10, Recall@50, coverage@10 of the served lists (MMR, artist cap, "
        "exclusions) and raw scores, each stage's scorer, beside popularity, item-kNN, RP3beta and EASE (small "
        "catalogs)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--artifacts", default=None, help="Artifacts root (default: settings.ARTIFACTS_DIR).")
        parser.add_argument("--model-version", dest="model_version", default=None, help="Version (default: current).")
        parser.add_argument(
            "--json",
            dest="json_path",
            nargs="?",
            const="-",
            default=None,
            help="Also give the report as JSON: to this file, or printed after the table without a path.",
        )

    def handle(self, *args, **options) -> None:
        quiet_libraries(options["verbosity"])
        from django.conf import settings

        from ml.evaluation import format_report
        from ml.pipeline import evaluate_version

        with ml_errors():
            outcome = evaluate_version(
                artifacts_root(options["artifacts"]),
                options["model_version"],
                mmr_lambda=settings.MMR_LAMBDA,
                max_per_artist=settings.MAX_SONGS_PER_ARTIST,
                progress=True,  # drawn on a terminal only
            )
        report = outcome["report"]
        self.stdout.write(
            f"Model {outcome['version']} (search through: {outcome['index']}), "
            f"{outcome['protocol'].get('test_users', '?')} held-out test users, served with MMR lambda "
            f"{settings.MMR_LAMBDA:g} and at most {settings.MAX_SONGS_PER_ARTIST} songs per artist:\n"
        )
        self.stdout.write(format_report(report))
        if options["json_path"] is None:
            return
        document = json.dumps({**outcome, "report": report.to_dict()}, indent=2, sort_keys=True)
        if options["json_path"] != "-":
            path = Path(options["json_path"])
            try:
                path.write_text(document + "\n", encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
            self.stdout.write(f"JSON written to {path}.")
        else:
            self.stdout.write("\nJSON:")
            self.stdout.write(document)
