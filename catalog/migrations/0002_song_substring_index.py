"""A trigram index so substring search on Song.search_key is served by an index, not a scan.

PostgreSQL: pg_trgm GIN index (LIKE '%q%' uses it). SQLite: an external-content FTS5 table
with the trigram tokenizer, kept in step with catalog_song by triggers.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE catalog_song_fts USING fts5("
    "search_key, content='catalog_song', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER catalog_song_fts_insert AFTER INSERT ON catalog_song BEGIN "
    "INSERT INTO catalog_song_fts(rowid, search_key) VALUES (new.id, new.search_key); END",
    "CREATE TRIGGER catalog_song_fts_delete AFTER DELETE ON catalog_song BEGIN "
    "INSERT INTO catalog_song_fts(catalog_song_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key); END",
    "CREATE TRIGGER catalog_song_fts_update AFTER UPDATE OF search_key ON catalog_song BEGIN "
    "INSERT INTO catalog_song_fts(catalog_song_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key); "
    "INSERT INTO catalog_song_fts(rowid, search_key) VALUES (new.id, new.search_key); END",
    "INSERT INTO catalog_song_fts(catalog_song_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS catalog_song_fts_update",
    "DROP TRIGGER IF EXISTS catalog_song_fts_delete",
    "DROP TRIGGER IF EXISTS catalog_song_fts_insert",
    "DROP TABLE IF EXISTS catalog_song_fts",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS catalog_song_search_trgm ON catalog_song USING gin (search_key gin_trgm_ops)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS catalog_song_search_trgm"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
