"""brands: the stored brand keyed ``brand`` for a name in another script gets its own key

Revision ID: 0016
Revises: 0015

Until 2026-12-06 a brand's key kept only a-z and 0-9 of its name, so a name without them
("Яндекс", "オービスト") was keyed ``brand``, and a second such brand was refused as the same one.
Such names are now keyed by their letters and digits in any script (`monitor.config.brand_key`).
The stored brand keyed ``brand`` and its queries take that key here; otherwise the next start would
store the configured brand anew and leave its mentions, cursors and alerts with the old row.
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

brands = sa.table("brands", sa.column("id", sa.Integer), sa.column("key", sa.String), sa.column("name", sa.String))
brand_queries = sa.table("brand_queries", sa.column("brand_id", sa.Integer), sa.column("key", sa.String))


FALLBACK_BRAND_KEY = "brand"


def brand_key(name: str) -> str:
    """monitor.config.brand_key as this migration was written: frozen here, as a migration must do the
    same on every database whatever the code does later."""
    ascii_key = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if ascii_key:
        return ascii_key
    folded = unicodedata.normalize("NFKC", name).casefold()
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in folded)
    return "-".join(kept.split()) or FALLBACK_BRAND_KEY


def _rekey(brand_id: int, key: str) -> None:
    op.execute(brands.update().where(brands.c.id == brand_id).values(key=key))
    op.execute(brand_queries.update().where(brand_queries.c.brand_id == brand_id).values(key=key))


def upgrade() -> None:
    conn = op.get_bind()
    stored = conn.execute(sa.select(brands.c.id, brands.c.name).where(brands.c.key == FALLBACK_BRAND_KEY)).first()
    if stored is None:
        return
    key = brand_key(stored.name)  # still "brand" for a name such as "Brand"
    if key != FALLBACK_BRAND_KEY and conn.execute(sa.select(brands.c.id).where(brands.c.key == key)).first() is None:
        _rekey(stored.id, key)


def downgrade() -> None:
    # Before 0016 a name without a-z or 0-9 was keyed "brand": the one such brand there could be takes it back.
    conn = op.get_bind()
    rows = conn.execute(sa.select(brands.c.id, brands.c.name, brands.c.key)).all()
    fallback_named = [row for row in rows if not re.search(r"[a-z0-9]", row.name.lower())]
    if len(fallback_named) == 1 and all(row.key != FALLBACK_BRAND_KEY for row in rows):
        _rekey(fallback_named[0].id, FALLBACK_BRAND_KEY)
