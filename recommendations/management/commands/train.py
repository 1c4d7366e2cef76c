"""manage.py train --data PATH [--format ...] [--trials N --timeout S --seed S --out DIR]"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ._ml import artifacts_root, ml_errors, quiet_libraries


class Command(BaseCommand):
    help = (
        "Train the two-stage recommender on listening data and write a new artifact version: Surprise SVD (sampled "
        "negatives, next-song search), the item graph and the re-ranker (LightGBM, else a tuned blend). Publish it "
        "with `manage.py build_index`."
    )

    def add_arguments(self, parser) -> None:
        from ml.pipeline import DEFAULT_TIMEOUT_S, DEFAULT_TRIALS
        from ml.readers import FORMATS
        from ml.train import DEFAULT_PARAMS

        parser.add_argument("--data", required=True, help="Scrobble CSV, triplet CSV, or the playlist dataset folder.")
        parser.add_argument("--format", choices=FORMATS, default=None, help="Input format (default: detected).")
        parser.add_argument(
            "--trials",
            type=int,
            default=DEFAULT_TRIALS,
            help=(
                f"SVD parameter-search trials; trial 0 (the first) is the defaults, 0 skips the search "
                f"(default {DEFAULT_TRIALS})."
            ),
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_TIMEOUT_S,
            help=f"Stop starting new trials after this many seconds; 0 = no limit (default {DEFAULT_TIMEOUT_S:g}).",
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed for the split, sampling and SGD (default 0).")
        parser.add_argument("--out", default=None, help="Artifacts root (default: settings.ARTIFACTS_DIR).")
        parser.add_argument(
            "--factors", type=int, default=None, help=f"SVD factors (default {DEFAULT_PARAMS.n_factors})."
        )
        parser.add_argument("--epochs", type=int, default=None, help=f"SGD epochs (default {DEFAULT_PARAMS.n_epochs}).")
        parser.add_argument(
            "--neg-ratio",
            type=float,
            default=None,
            help=f"Negatives per positive (default {DEFAULT_PARAMS.neg_ratio:g}).",
        )
        parser.add_argument("--min-item-users", type=int, default=2, help="Keep songs with at least N listeners (2).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, **options) -> None:
        from ml.evaluation import format_report
        from ml.pipeline import TrainConfig, train_model
        from ml.train import DEFAULT_PARAMS

        quiet_libraries(options["verbosity"])
        if options["trials"] < 0:
            raise CommandError("--trials must be 0 or more.")
        overrides = {
            name: options[option]
            for name, option in (("n_factors", "factors"), ("n_epochs", "epochs"), ("neg_ratio", "neg_ratio"))
            if options[option] is not None
        }
        if (
            any(value <= 0 for key, value in overrides.items() if key != "neg_ratio")
            or overrides.get("neg_ratio", 0) < 0
        ):
            raise CommandError("--factors and --epochs must be positive and --neg-ratio 0 or more.")
        data = Path(options["data"])
        if not data.exists():
            raise CommandError(f"Data file {data} does not exist.")
        config = TrainConfig(
            data=data,
            out=artifacts_root(options["out"]),
            fmt=options["format"],
            trials=options["trials"],
            timeout_s=options["timeout"],
            seed=options["seed"],
            params=DEFAULT_PARAMS.replace(**overrides),
            min_item_users=options["min_item_users"],
            progress=not options["no_progress"],
        )
        with ml_errors():
            result = train_model(config, notify=lambda message: self.stdout.write(message))
        manifest = result.manifest
        search = manifest.get("search")
        if search:
            self.stdout.write(
                f"Search: {len(search['trials'])} trials in {search['seconds']:.0f}s, best validation "
                f"{search['objective']} {search['best_value']:.4f}."
            )
        self.stdout.write(f"Parameters: {json.dumps({k: manifest['params'][k] for k in DEFAULT_PARAMS.to_dict()})}")
        if result.report:
            self.stdout.write("\nTest users (cold start from 5 seeds; * = the lists users get):")
            self.stdout.write(format_report(result.report))
        else:
            self.stdout.write("No test user has enough songs: metrics skipped (the data set is very small).")
        timings = ", ".join(f"{k.removesuffix('_s')} {v:.1f}s" for k, v in result.timings.items())
        self.stdout.write(f"\nTimings: {timings}.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote version {result.version} to {result.path}. Publish it with `manage.py build_index`"
                + (f" --artifacts {options['out']}" if options["out"] else "")
                + "."
            )
        )
