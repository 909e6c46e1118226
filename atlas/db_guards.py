"""Database guards that keep every link inside one workspace.

For each foreign key from a workspace-scoped row to another workspace-scoped row, and for each
many-to-many table between two scoped models, a trigger refuses an INSERT or UPDATE that would link
rows of different workspaces. The guards are derived from the models, so a new model or link is
covered without writing anything; they are (re)installed after every `migrate` (post_migrate)."""

from django.apps import apps
from django.db import connections
from django.db.models import ForeignKey, ManyToManyField, Model

from atlas.models import WorkspaceScoped

PROJECT_APPS = ("atlas", "journeys", "opportunities", "okrs", "metrics")


def _is_scoped(model: type[Model]) -> bool:
    return issubclass(model, WorkspaceScoped)


def workspace_links() -> list[tuple[str, str, str, str, str]]:
    """(guard name, table, left expression, right expression, condition column) for every link.

    Each expression yields a workspace id from NEW; the trigger refuses the row when both are set and differ."""
    links = []
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS or not _is_scoped(model):
            continue
        table = model._meta.db_table
        for field in model._meta.local_fields:
            if not isinstance(field, ForeignKey) or not _is_scoped(field.related_model):
                continue
            target = field.related_model._meta.db_table
            links.append(
                (
                    f"{table}__{field.column}",
                    table,
                    "NEW.workspace_id",
                    f"(SELECT workspace_id FROM {target} WHERE id = NEW.{field.column})",
                    field.column,
                )
            )
        for field in model._meta.local_many_to_many:
            if not isinstance(field, ManyToManyField) or not _is_scoped(field.related_model):
                continue
            through = field.remote_field.through
            if not through._meta.auto_created:
                continue
            m2m_table = through._meta.db_table
            source_col = field.m2m_column_name()
            target_col = field.m2m_reverse_name()
            links.append(
                (
                    f"{m2m_table}__link",
                    m2m_table,
                    f"(SELECT workspace_id FROM {table} WHERE id = NEW.{source_col})",
                    f"(SELECT workspace_id FROM {field.related_model._meta.db_table} WHERE id = NEW.{target_col})",
                    target_col,
                )
            )
    return links


def _trigger_name(name: str) -> str:
    # PostgreSQL truncates identifiers at 63 bytes; keep names unique and short.
    import hashlib

    return "ws_guard_" + hashlib.sha1(name.encode()).hexdigest()[:16]


def _watched_columns(left: str, column: str) -> str:
    """The columns whose update can break the link: the row's workspace and the link column (for a
    many-to-many row, both ends). An UPDATE that sets neither (scores, names…) fires no guard: writing
    100,000 scores does not pay for 100,000 look-ups."""
    other = left.split("NEW.")[1].rstrip(")") if "NEW." in left else None
    return ", ".join(dict.fromkeys([other or "workspace_id", column]))


def install_guards(using: str = "default") -> int:
    connection = connections[using]
    existing = set(connection.introspection.table_names())

    def tables_of(link) -> set[str]:
        _, table, left, right, _ = link
        return {table} | {part.split("FROM ")[1].split(" ")[0] for part in (left, right) if "FROM " in part}

    # After a partial migrate (`migrate app 0001`) some tables do not exist yet: guard those that do.
    links = [link for link in workspace_links() if tables_of(link) <= existing]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for name, table, left, right, column in links:
                trigger = _trigger_name(name)
                watched = _watched_columns(left, column)
                cursor.execute(
                    f"""
                    CREATE OR REPLACE FUNCTION {trigger}() RETURNS trigger AS $$
                    BEGIN
                        IF NEW.{column} IS NOT NULL AND {left} IS DISTINCT FROM {right} THEN
                            RAISE EXCEPTION 'cross-workspace link refused on {table}.{column}'
                                USING ERRCODE = 'integrity_constraint_violation';
                        END IF;
                        RETURN NEW;
                    END;
                    $$ LANGUAGE plpgsql;
                    DROP TRIGGER IF EXISTS {trigger} ON {table};
                    CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE OF {watched} ON {table}
                        FOR EACH ROW EXECUTE FUNCTION {trigger}();
                    """
                )
        elif connection.vendor == "sqlite":
            for name, table, left, right, column in links:
                trigger = _trigger_name(name)
                watched = _watched_columns(left, column)
                for event, when in (("insert", "INSERT"), ("update", f"UPDATE OF {watched}")):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}_{event}")
                    cursor.execute(
                        f"""
                        CREATE TRIGGER {trigger}_{event} BEFORE {when} ON {table}
                        WHEN NEW.{column} IS NOT NULL AND {left} IS NOT {right}
                        BEGIN
                            SELECT RAISE(ABORT, 'cross-workspace link refused on {table}.{column}');
                        END
                        """
                    )
        else:  # pragma: no cover - only PostgreSQL and SQLite are supported
            raise NotImplementedError(connection.vendor)
    return len(links)


def remove_guards(using: str = "default") -> None:
    """Drop every guard trigger. Done before `migrate`: SQLite rebuilds a table to alter it, and a
    trigger on another table that names the table being rebuilt would break the rebuild."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgname LIKE 'ws\\_guard\\_%%'"
            )
            for trigger, table in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER IF EXISTS {trigger} ON "{table}"')
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ws_guard_%'")
            for (trigger,) in cursor.fetchall():
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
