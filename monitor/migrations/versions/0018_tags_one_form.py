"""mention_tags: tags that look alike stored as one, without characters that show nothing

Revision ID: 0018
Revises: 0017

Until 2026-12-07 a tag was kept as typed but for case and spaces: "café" typed with the letter é and
typed as e and U+0301 were two tags (the tag filter found one of them), and a tag holding a zero-width
space or another character that shows nothing was kept ("café\\u200b" looked like "café"; one of
nothing else showed as a bare #). `monitor.triage.clean_tag` now stores tags in NFC and refuses such
characters; this brings the stored tags to that form, so each can still be found and removed: what
shows nothing is dropped, and a tag the mention then already has, or one with nothing left, goes.
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

from monitor.triage import TriageError, clean_tag
from sentiment.text import DEFAULT_IGNORABLE_CHAR

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

mention_tags = sa.table("mention_tags", sa.column("mention_id", sa.BigInteger), sa.column("tag", sa.String))


def _one_form(tag: str) -> str | None:
    """The tag as clean_tag stores it, or, where clean_tag refuses it, as it shows (its controls, format and
    other default-ignorable characters dropped); None if even that is refused (nothing left)."""
    shown = "".join(ch for ch in tag
                    if unicodedata.category(ch) not in ("Cc", "Cf") and not DEFAULT_IGNORABLE_CHAR.match(ch))
    # As typed first: an emoji's variation selector ("❤️") is default-ignorable but allowed, and kept.
    for form in (tag, shown):
        try:
            return clean_tag(form)
        except TriageError:
            continue
    return None


def upgrade() -> None:
    """Every tag is read, a batch at a time (no SQL test says "not NFC"); only the changes are held."""
    conn = op.get_bind()
    changes = []
    all_tags = sa.select(mention_tags.c.mention_id, mention_tags.c.tag).execution_options(yield_per=10_000)
    for mention_id, tag in conn.execute(all_tags):
        cleaned = _one_form(tag)
        if cleaned != tag:
            changes.append((mention_id, tag, cleaned))
    # clean_tag's forms are its fixed points, so a tag changed here never becomes one changed later.
    for mention_id, tag, cleaned in changes:
        this = sa.and_(mention_tags.c.mention_id == mention_id, mention_tags.c.tag == tag)
        taken = cleaned is not None and conn.scalar(sa.select(sa.literal(1)).where(
            mention_tags.c.mention_id == mention_id, mention_tags.c.tag == cleaned))
        if cleaned is None or taken:
            conn.execute(sa.delete(mention_tags).where(this))
        else:
            conn.execute(sa.update(mention_tags).where(this).values(tag=cleaned))


def downgrade() -> None:
    """Nothing to undo: the older schema reads the cleaned tags as they are (the forms replaced are not kept)."""
