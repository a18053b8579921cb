"""queue search: the author's name too

Revision ID: 0019
Revises: 0018

Until 2026-12-07 the queue's free text looked in a mention's text and author handle only, never in the
author name its card shows, so a feed post (a name, no handle) could not be found by its author at all.
SQLite: an FTS5 table's columns cannot be changed, so ``mentions_fts`` and its triggers are made again
with ``author_name`` and indexed from the stored mentions. PostgreSQL: a pg_trgm GIN index on
``author_name``, as migration 0004 made for the text and the handle. The SQL is written out here, not
taken from the code, as a migration must do the same on every database whatever the code does later.

As 0004 notes, a later migration that copies ``mentions`` on SQLite (``batch_alter_table``) drops these
triggers; it must make them again, with ``author_name``.
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_SEARCHED_BEFORE = ("text", "author_handle")  # as migration 0004 made the table
_SEARCHED = (*_SEARCHED_BEFORE, "author_name")


def _make_sqlite_search_table(columns: tuple[str, ...]) -> None:
    """``mentions_fts`` over these columns of ``mentions``, its triggers (named as 0004 named them, which
    its downgrade drops), and its index of the stored mentions."""
    for statement in ("DROP TRIGGER mentions_fts_update", "DROP TRIGGER mentions_fts_delete",
                      "DROP TRIGGER mentions_fts_insert", "DROP TABLE mentions_fts"):
        op.execute(statement)
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    op.execute(f"CREATE VIRTUAL TABLE mentions_fts USING fts5({names}, content='mentions', content_rowid='id', "
               "tokenize='trigram')")
    op.execute(f"""CREATE TRIGGER mentions_fts_insert AFTER INSERT ON mentions BEGIN
        INSERT INTO mentions_fts(rowid, {names}) VALUES (new.id, {new});
    END""")
    op.execute(f"""CREATE TRIGGER mentions_fts_delete AFTER DELETE ON mentions BEGIN
        INSERT INTO mentions_fts(mentions_fts, rowid, {names}) VALUES ('delete', old.id, {old});
    END""")
    op.execute(f"""CREATE TRIGGER mentions_fts_update AFTER UPDATE OF id, {names} ON mentions BEGIN
        INSERT INTO mentions_fts(mentions_fts, rowid, {names}) VALUES ('delete', old.id, {old});
        INSERT INTO mentions_fts(rowid, {names}) VALUES (new.id, {new});
    END""")
    op.execute("INSERT INTO mentions_fts(mentions_fts) VALUES ('rebuild')")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _make_sqlite_search_table(_SEARCHED)
    elif bind.dialect.name == "postgresql":
        # pg_trgm lives once per database, made by 0004 in public or found elsewhere: its operator class is
        # named by the schema it is in (tools run with search_path set to the install's own schema).
        schema = bind.exec_driver_sql(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'").scalar_one()
        op.execute(f'CREATE INDEX ix_mentions_author_name_trgm ON mentions '
                   f'USING gin (author_name "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _make_sqlite_search_table(_SEARCHED_BEFORE)
    elif dialect == "postgresql":
        op.drop_index("ix_mentions_author_name_trgm", table_name="mentions")
