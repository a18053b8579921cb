"""Alembic environment: runs on the connection handed over by ``Database.upgrade``."""

from typing import Any

from alembic import context

from monitor.models import Base, UTCDateTime
from monitor.storage import version_table_schema

config = context.config
connection = config.attributes["connection"]


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations must not import model classes, which change after the migration is written.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_item=_render_item,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table copies for ALTERs
    version_table_schema=version_table_schema(connection),  # this install's, as Database reads it
)
with context.begin_transaction():
    context.run_migrations()
