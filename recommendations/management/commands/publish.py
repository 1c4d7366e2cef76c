"""manage.py publish VERSION [--artifacts DIR] [--dry-run]: roll back or forward to a kept version."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ._ml import artifacts_root, ml_errors, publish_version, quiet_libraries, require_migrated_database


class Command(BaseCommand):
    help = (
        "Serve a kept model version (rollback or roll forward): load and verify it in full (manifest, every "
        "file's sha256, the index against the vectors), publish its songs to the catalog, then switch `current` "
        "atomically. Every running instance picks it up within a second. `manage.py models` lists the versions."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("version", help="A version name as `manage.py models` lists it.")
        parser.add_argument("--artifacts", default=None, help="Artifacts root (default: settings.ARTIFACTS_DIR).")
        parser.add_argument("--dry-run", action="store_true", help="Verify the version, change nothing.")

    def handle(self, *args, **options) -> None:
        quiet_libraries(options["verbosity"])
        from ml import artifacts

        require_migrated_database()
        root = artifacts_root(options["artifacts"])
        version = options["version"]
        if version not in artifacts.list_versions(root):
            kept = ", ".join(artifacts.list_versions(root)) or "none"
            raise CommandError(f"No complete version {version!r} under {root / artifacts.VERSIONS_DIR} (kept: {kept}).")
        with ml_errors():
            # The same checks a server runs before it swaps a model in: a version that would be
            # refused there is refused here, before any instance is pointed at it.
            loaded = artifacts.load_version(artifacts.version_dir(root, version), require_index=True)
        self.stdout.write(f"Verified {version}: {len(loaded.items)} songs, {loaded.vectors.shape[1]} dims.")
        previous = artifacts.current_version(root)
        if options["dry_run"]:
            self.stdout.write(f"Dry run: `current` stays at {previous}.")
            return
        publish_version(root, version, loaded.items, self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Published {version} (was {previous})."))
