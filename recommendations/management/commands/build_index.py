"""manage.py build_index [--artifacts DIR] [--model-version V] [--keep N]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ._ml import artifacts_root, ml_errors, publish_version, quiet_libraries, require_migrated_database


class Command(BaseCommand):
    help = (
        "Build the FAISS index of a trained version (default: the newest), publish its songs to the catalog in "
        "one transaction, switch `current` to it atomically and prune old versions."
    )

    def add_arguments(self, parser) -> None:
        from ml.index import FLAT_MAX_ITEMS, KINDS

        parser.add_argument("--artifacts", default=None, help="Artifacts root (default: settings.ARTIFACTS_DIR).")
        parser.add_argument(
            "--model-version", dest="model_version", default=None, help="Version (default: the newest)."
        )
        parser.add_argument(
            "--index",
            choices=("auto", *KINDS),
            default="auto",
            help="Index kind; auto = exact up to --flat-max-items songs, IVF (tuned to recall@10 >= 0.97) above "
            "(default auto).",
        )
        parser.add_argument("--flat-max-items", type=int, default=FLAT_MAX_ITEMS, help=f"Default {FLAT_MAX_ITEMS}.")
        parser.add_argument("--keep", type=int, default=3, help="Versions to keep on disk (default 3).")

    def handle(self, *args, **options) -> None:
        quiet_libraries(options["verbosity"])
        from ml import artifacts
        from ml.pipeline import build_version_index

        if options["keep"] < 1:
            raise CommandError("--keep must be at least 1.")
        require_migrated_database()
        root = artifacts_root(options["artifacts"])
        with ml_errors():
            version, info, items = build_version_index(
                root, options["model_version"], kind=options["index"], flat_max_items=options["flat_max_items"]
            )
        recall = (
            f", recall@10 vs exact {info['recall_at_10_popular']:.3f} (seeds drawn by popularity), "
            f"{info['recall_at_10']:.3f} (uniform seeds: mostly the long tail)"
            if info["kind"] != "flat"
            else ""
        )
        if info["kind"] == "ivf":
            recall += f"; {info['nlist']} lists, {info['nprobe']} probed per query"
        self.stdout.write(
            f"Built {info['kind']} index of {info['ntotal']} songs x {info['dims']} dims "
            f"in {info['build_seconds']:.1f}s{recall}."
        )
        publish_version(root, version, items, self.stdout)
        with ml_errors():
            removed = artifacts.prune_versions(root, options["keep"])
        if removed:
            self.stdout.write(f"Pruned {len(removed)} old version(s): {', '.join(removed)}.")
        self.stdout.write(self.style.SUCCESS(f"Published {version}: {root / 'current'} -> versions/{version}."))
