"""manage.py ensure_model: what `make run` calls before starting the server."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from recommendations.model_store import SYNTHETIC_DATA_KEY

from ._ml import artifacts_root, ml_errors


class Command(BaseCommand):
    help = (
        "Make sure a model is published and the catalog lists its songs. With no published model: "
        "generate the demo data (if absent), train on it and publish. With a published model whose songs "
        "are not in this database (a new DATABASE_URL): publish its songs again. Otherwise do nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--artifacts", default=None, help="Artifacts root (default: settings.ARTIFACTS_DIR).")
        parser.add_argument("--demo-data", default=None, help="Demo CSV path (default: DATA_DIR/demo/scrobbles.csv).")

    def handle(self, *args, **options) -> None:
        from catalog.models import Song
        from catalog.services import catalog_publish
        from ml import artifacts

        root = artifacts_root(options["artifacts"])
        demo = Path(options["demo_data"] or Path(settings.DATA_DIR) / "demo" / "scrobbles.csv")
        version = artifacts.current_version(root)
        if version is None:
            if not demo.exists():
                demo.parent.mkdir(parents=True, exist_ok=True)
                call_command("make_demo_data", str(demo), stdout=self.stdout)
            call_command("train", "--data", str(demo), "--out", str(root), stdout=self.stdout)
            with ml_errors():
                _mark_if_demo(artifacts.version_dir(root, artifacts.latest_version(root)), demo)
            call_command("build_index", "--artifacts", str(root), stdout=self.stdout)
            return
        with ml_errors():
            _mark_if_demo(artifacts.version_dir(root, version), demo)  # a demo model made before the mark
        if Song.objects.filter(model_version=version, is_available=True).exists():
            self.stdout.write(f"Model {version} is published and in the catalog.")
            return
        with ml_errors():
            items = artifacts.load_items(artifacts.version_dir(root, version))
        counts = catalog_publish(items=items, model_version=version)
        self.stdout.write(f"Published the songs of model {version} to this database: {counts}.")


def _mark_if_demo(path: Path, demo: Path) -> None:
    """Mark a model trained on the demo file as synthetic: its songs are invented, so the server
    asks no public service for their covers (a model trained on real data may)."""
    from ml import artifacts

    manifest = artifacts.read_manifest(path)
    if manifest.get("data", {}).get("path") == str(demo) and not manifest.get(SYNTHETIC_DATA_KEY):
        artifacts.update_version(path, {}, {SYNTHETIC_DATA_KEY: True})
