"""manage.py evaluate [--artifacts DIR] [--model-version V] [--json PATH]"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ._ml import artifacts_root, ml_errors, quiet_libraries


class Command(BaseCommand):
    help = (
        "Re-run the cold-start test protocol on a model version (default: the published one): HitRate@10, "
        "NDCG@10, Recall@50, coverage and RMSE/MAE beside popularity and item-kNN baselines, as a table and JSON."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--artifacts", default=None, help="Artifacts root (default: settings.ARTIFACTS_DIR).")
        parser.add_argument("--model-version", dest="model_version", default=None, help="Version (default: current).")
        parser.add_argument("--json", dest="json_path", default=None, help="Also write the JSON report to this file.")

    def handle(self, *args, **options) -> None:
        quiet_libraries(options["verbosity"])
        from ml.pipeline import evaluate_version, format_metrics_table

        with ml_errors():
            report = evaluate_version(artifacts_root(options["artifacts"]), options["model_version"])
        protocol = report.get("protocol", {})
        self.stdout.write(
            f"Model {report['version']} (search through: {report['index']}), "
            f"{protocol.get('test_users', '?')} held-out test users:"
        )
        self.stdout.write(format_metrics_table(report["results"]))
        document = json.dumps(report, indent=2, sort_keys=True)
        if options["json_path"]:
            path = Path(options["json_path"])
            try:
                path.write_text(document + "\n", encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
            self.stdout.write(f"JSON written to {path}.")
        self.stdout.write("\nJSON:")
        self.stdout.write(document)
