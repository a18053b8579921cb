"""A past reply written in a private conversation (a Mastodon direct message or followers-only post) may hold that
customer's address and phone. Until 2026-12-07 it was suggested for a public mention too, where one click posted
it for everyone to read from the brand's account. Now a past reply is offered only for a mention at least as
private as its own; where what was kept of the earlier mention does not say how private it was, it is not offered."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from monitor.models import Mention, MentionStatus, Reply, ReplyState
from monitor.storage import Database
from monitor.suggestions import suggest
from tests.test_suggestions import _brand_id, _same_vector

DIRECT = "Hi Lea, we re-sent order 4417 to 12 Elm St, Leeds; the courier will call you on +44 7700 900123."
FOLLOWERS_ONLY = "Hi Lea, order 4418 goes to your new address on Elm St tomorrow."
PUBLIC = "Hi Lea, sorry for the wait: the courier has your parcel and delivers it today."
UNLISTED = "Hi Lea, your parcel is with the courier."
PRUNED = "Hi Lea, we changed the delivery address of order 4419 to 12 Elm St."


def _mention(db: Database, author: str, external_id: str, raw: dict[str, Any], status: str, platform: str) -> int:
    with db.write() as session:
        mention = Mention(brand_id=_brand_id(session), platform=platform, external_id=external_id,
                          text="@orbisto my order never arrived", lang="en", created_at=datetime.now(timezone.utc),
                          author_name=author.title(), author_handle=author, replyable=True, raw=raw, status=status)
        session.add(mention)
        session.flush()
        return mention.id


def _answered(db: Database, visibility: str | None, body: str, platform: str = "mastodon") -> None:
    """A resolved mention of that visibility (None: not kept) answered with ``body``, sent yesterday."""
    raw = {"acct": "lea"} if visibility is None else {"acct": "lea", "visibility": visibility}
    mention_id = _mention(db, "lea", f"lea:{body[:20]}", raw, MentionStatus.RESOLVED.value, platform)
    sent = datetime.now(timezone.utc) - timedelta(days=1)
    with db.write() as session:
        session.add(Reply(mention_id=mention_id, body=body, author="agent", idempotency_key=f"key:{mention_id}",
                          state=ReplyState.SENT.value, sent_at=sent, created_at=sent, updated_at=sent))


def _offered(db: Database, visibility: str | None, platform: str = "mastodon") -> set[str]:
    """The past replies suggested for Bob's mention of that visibility (None: not kept), as Lea's were written."""
    raw = {"acct": "bob"} if visibility is None else {"acct": "bob", "visibility": visibility}
    bob = _mention(db, "bob", f"bob:{visibility}", raw, MentionStatus.NEW.value, platform)
    return {s.text.replace("Hi Bob,", "Hi Lea,") for s in suggest(db, bob, (), limit=10, embed=_same_vector)}


def test_a_direct_messages_reply_is_never_offered_for_a_public_mention(db: Database) -> None:
    for visibility, body in (("direct", DIRECT), ("private", FOLLOWERS_ONLY), ("public", PUBLIC),
                             ("unlisted", UNLISTED), (None, PRUNED)):
        _answered(db, visibility, body)
    assert _offered(db, "public") == {PUBLIC, UNLISTED}
    assert _offered(db, "unlisted") == {PUBLIC, UNLISTED}  # anyone can read an unlisted post
    assert _offered(db, None) == {PUBLIC, UNLISTED}  # not knowing how private Bob's mention is: as if public
    assert _offered(db, "private") == {PUBLIC, UNLISTED, FOLLOWERS_ONLY}
    assert _offered(db, "direct") == {PUBLIC, UNLISTED, FOLLOWERS_ONLY, DIRECT}
    # A platform without private posts keeps no visibility: its past replies are offered as before.
    _answered(db, None, PRUNED, platform="sample")
    assert _offered(db, None, platform="sample") == {PRUNED}
