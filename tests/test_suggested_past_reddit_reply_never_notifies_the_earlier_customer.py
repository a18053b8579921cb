"""On Reddit a past reply greeting u/ana or /u/ana is offered to the next customer greeting them as u/bob, and
not at all where it names u/ana further on: sent, it would notify Ana with Bob's answer (and her order details)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from connectors.reddit import RedditConnector
from monitor.models import Brand, Mention, MentionStatus, Reply, ReplyState
from monitor.storage import Database
from monitor.suggestions import suggest
from tests.test_suggested_past_reply_never_names_the_earlier_customer import _same_vector


def _reddit_mention(db: Database, external_id: str, author: str | None, status: str) -> int:
    with db.write() as session:
        brand = session.query(Brand).filter_by(key="acme").one_or_none()
        if brand is None:
            brand = Brand(key="acme", name="Acme")
            session.add(brand)
            session.flush()
        # As the Reddit connector stores them: the username is the name too.
        mention = Mention(brand_id=brand.id, platform=RedditConnector.name, external_id=external_id,
                          text="my acme order never arrived", lang="en", created_at=datetime.now(timezone.utc),
                          author_name=author, author_handle=author, replyable=True, raw={}, status=status)
        session.add(mention)
        session.flush()
        return mention.id


def _answered_ana(db: Database, body: str) -> None:
    """A resolved Reddit comment by u/ana_lopez answered with ``body``."""
    mention_id = _reddit_mention(db, f"t1_{abs(hash(body))}", "ana_lopez", MentionStatus.RESOLVED.value)
    sent = datetime.now(timezone.utc) - timedelta(days=1)
    with db.write() as session:
        session.add(Reply(mention_id=mention_id, body=body, author="agent", idempotency_key=body[:40],
                          state=ReplyState.SENT.value, sent_at=sent, created_at=sent, updated_at=sent))


def _offered(db: Database, author: str | None) -> set[str]:
    new = _reddit_mention(db, "t1_new", author, MentionStatus.NEW.value)
    return {s.text for s in suggest(db, new, (), limit=10, embed=_same_vector)}


def test_a_past_reddit_reply_greeting_u_slash_the_earlier_customer_greets_the_new_one_so(db: Database) -> None:
    _answered_ana(db, "Hi u/ana_lopez, so sorry! Your refund for order 4417 is on its way.")
    _answered_ana(db, "Hey /U/Ana_Lopez thanks for the patience, the courier comes tomorrow.")
    _answered_ana(db, "Hi @ana_lopez, the fix is out now.")
    assert _offered(db, "bob_smith") == {"Hi u/bob_smith, so sorry! Your refund for order 4417 is on its way.",
                                         "Hey u/bob_smith thanks for the patience, the courier comes tomorrow.",
                                         "Hi bob_smith, the fix is out now."}


def test_a_past_reddit_reply_greeting_a_deleted_accounts_successor_says_there(db: Database) -> None:
    # A deleted account has no username to write after u/.
    _answered_ana(db, "Hi u/ana_lopez, the fix is out now.")
    assert _offered(db, None) == {"Hi there, the fix is out now."}


def test_a_past_reddit_reply_naming_u_slash_the_earlier_customer_after_its_greeting_is_not_offered(
        db: Database) -> None:
    _answered_ana(db, "Hi there, refund for order 4417 sent, thanks u/ana_lopez!")
    _answered_ana(db, "Hi u/ana_lopez, refunded. cc /u/ANA_LOPEZ.")
    _answered_ana(db, "Thanks! Order 4417 is refunded, u/ana_lopez")
    _answered_ana(db, "Hi u/ana_lopez, fixed. Thanks u/ana_lopez-2 and u/ana_lopez_b for the tip")  # other accounts
    assert _offered(db, "bob_smith") == {"Hi u/bob_smith, fixed. Thanks u/ana_lopez-2 and u/ana_lopez_b for the tip"}


def test_the_same_reddit_customer_is_offered_their_own_past_reply(db: Database) -> None:
    _answered_ana(db, "Hi u/ana_lopez, the fix is out now.")
    assert _offered(db, "ana_lopez") == {"Hi u/ana_lopez, the fix is out now."}
