import logging

from django.db import DatabaseError, migrations, models, transaction

log = logging.getLogger(__name__)

# The insight repository's text search is `icontains` on three columns, which PostgreSQL runs as
# `UPPER(col::text) LIKE UPPER('%word%')`: a trigram index on exactly those expressions serves it
# (40k insights: the search count went from 62 ms to 0.3 ms). PostgreSQL only, and only where the
# pg_trgm extension can be created; elsewhere search still works, by scanning.
TRIGRAM_INDEX = """
CREATE INDEX IF NOT EXISTS insight_search_trgm ON journeys_insight USING gin (
    (UPPER(title::text)) gin_trgm_ops,
    (UPPER(description::text)) gin_trgm_ops,
    (UPPER(source_reference::text)) gin_trgm_ops
)
"""


def create_search_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(TRIGRAM_INDEX)
    except DatabaseError as exc:  # e.g. not allowed to create extensions
        log.warning("insight search runs without a trigram index: %s", exc)


def drop_search_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS insight_search_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("atlas", "0003_activity_feed_indexes"),
        ("journeys", "0002_journey_revisions_versions_and_step_origin"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="insight",
            index=models.Index(fields=["workspace", "-created_at", "-id"], name="insight_ws_newest"),
        ),
        migrations.RunPython(create_search_index, drop_search_index, elidable=False),
    ]
