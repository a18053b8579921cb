"""queue search: indexed free text, language filter, label statistics

Revision ID: 0004
Revises: 0003

Free text is a case-insensitive substring search over ``mentions.text`` and ``author_handle``.
SQLite: an FTS5 trigram index (``mentions_fts``, external content, kept in sync by triggers) finds
substrings of 3+ characters in any script. PostgreSQL: pg_trgm GIN indexes serve ``ILIKE '%…%'``,
and expression statistics let the planner see how common an effective intent or sentiment is.
None of this is in the models: it is search and planner machinery, not schema the ORM maps.

NOTE for later migrations: a ``batch_alter_table("mentions")`` on SQLite copies and drops the table,
which drops the ``mentions_fts_*`` triggers with it; such a migration must recreate them.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SQLITE_UP = [
    "CREATE VIRTUAL TABLE mentions_fts USING fts5(text, author_handle, content='mentions', content_rowid='id', "
    "tokenize='trigram')",
    """CREATE TRIGGER mentions_fts_insert AFTER INSERT ON mentions BEGIN
        INSERT INTO mentions_fts(rowid, text, author_handle) VALUES (new.id, new.text, new.author_handle);
    END""",
    """CREATE TRIGGER mentions_fts_delete AFTER DELETE ON mentions BEGIN
        INSERT INTO mentions_fts(mentions_fts, rowid, text, author_handle)
        VALUES ('delete', old.id, old.text, old.author_handle);
    END""",
    """CREATE TRIGGER mentions_fts_update AFTER UPDATE OF id, text, author_handle ON mentions BEGIN
        INSERT INTO mentions_fts(mentions_fts, rowid, text, author_handle)
        VALUES ('delete', old.id, old.text, old.author_handle);
        INSERT INTO mentions_fts(rowid, text, author_handle) VALUES (new.id, new.text, new.author_handle);
    END""",
    # Index the mentions stored before this migration.
    "INSERT INTO mentions_fts(mentions_fts) VALUES ('rebuild')",
]
_SQLITE_DOWN = [
    "DROP TRIGGER mentions_fts_update",
    "DROP TRIGGER mentions_fts_delete",
    "DROP TRIGGER mentions_fts_insert",
    "DROP TABLE mentions_fts",
]


def _create_trigram_indexes() -> None:
    bind = op.get_bind()
    # The extension lives once per database, in public (tests and tools run with search_path set to
    # another schema); reference its operator class by the schema it actually is in.
    # Installs in two schemas of one database upgrade at once (their migration lock is per schema), and two
    # CREATE EXTENSIONs at once fail one upgrade on pg_extension's unique name: this lock, for the whole
    # database and held until the upgrade commits, makes the second wait and then find the extension made.
    # Its first key is b"mdex" as a number.
    op.execute("SELECT pg_advisory_xact_lock(1835296120, 0)")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    schema = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'").scalar_one()
    ops = f'"{schema}".gin_trgm_ops'
    op.execute(f"CREATE INDEX ix_mentions_text_trgm ON mentions USING gin (text {ops})")
    op.execute(f"CREATE INDEX ix_mentions_author_handle_trgm ON mentions USING gin (author_handle {ops})")
    # Without statistics on the "human label, else the model's" expressions the planner guesses 0.5 %
    # match and sorts every row of, say, an assignee instead of walking that assignee's queue order.
    op.execute("CREATE STATISTICS st_mentions_effective_labels ON (coalesce(human_intent, intent)), "
               "(coalesce(human_sentiment_label, sentiment_label)) FROM mentions")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        _create_trigram_indexes()
    # A rare language is read in queue order straight from this index instead of filtering the whole queue.
    op.create_index("ix_mentions_lang_rank", "mentions", ["lang", "priority", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_mentions_lang_rank", table_name="mentions")
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("DROP STATISTICS st_mentions_effective_labels")
        op.drop_index("ix_mentions_author_handle_trgm", table_name="mentions")
        op.drop_index("ix_mentions_text_trgm", table_name="mentions")
