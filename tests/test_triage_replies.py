"""Replying from the queue: templates, X's weighted length, presence, and one reply per mention."""

from __future__ import annotations

import threading

import pytest

from connectors.base import ConnectorError
from monitor import presence
from monitor.errors import ReplyError, ReplyStateError
from monitor.models import Reply
from monitor.presence import Activity, ReplyCollision
from monitor.replies import draft_reply
from monitor.storage import Database
from connectors.x_text import x_weighted_length
from connectors.reddit import RedditConnector
from connectors.x import XConnector
from monitor.templates import ReplyTemplate, ReplyTooLong, TemplateError, UnfilledSlot, check_length, render
from tests.connector_doubles import RecordingReplyConnector
from tests.test_dashboard_fixtures import add_mention
from tests.principals import ANA, BEN, BY_NAME


def test_templates_fill_variables_and_flag_the_order_number_slot() -> None:
    template = ReplyTemplate("order", "Hi {author}, {brand} here: order {order_number} ships today.")
    unfilled = render(template, author="Ana", brand="Acme")
    assert unfilled.missing == ("order_number",)
    assert "[order number]" in unfilled.text
    filled = render(template, author="Ana", brand="Acme", order_number=" 12345 ")
    assert (filled.text, filled.missing) == ("Hi Ana, Acme here: order 12345 ships today.", ())
    with pytest.raises(TemplateError, match="unknown variable"):
        ReplyTemplate("bad", "Hi {name}")
    with pytest.raises(TemplateError, match="braces"):
        ReplyTemplate("bad", "Hi {author")


def test_x_counts_urls_as_23_and_wide_characters_as_2() -> None:
    assert x_weighted_length("hello") == 5
    assert x_weighted_length("see https://example.com/a/very/long/path?with=query&and=more") == 4 + 23
    assert x_weighted_length("see example.com.") == 4 + 23 + 1
    assert x_weighted_length("日本語") == 6
    assert x_weighted_length("ok 👍🏽") == 3 + 2
    assert x_weighted_length("👨‍👩‍👧") == 2
    long_url = "https://example.com/" + "x" * 400
    check_length(XConnector.capabilities, "x", long_url)  # 23 weighted characters despite 420 raw ones
    with pytest.raises(ReplyTooLong, match="281 X-weighted"):  # 140 CJK characters weigh 280; one more
        check_length(XConnector.capabilities, "x", "字" * 140 + "a")
    with pytest.raises(ReplyTooLong, match="10001 characters; reddit allows 10000"):
        check_length(RedditConnector.capabilities, "reddit", "a" * 10_001)


def test_bluesky_and_mastodon_count_graphemes_so_indic_and_emoji_replies_fit() -> None:
    from connectors.bluesky import BlueskyConnector
    from connectors.mastodon import status_length

    tamil = "வணக்கம்"  # 7 code points, 5 graphemes (vowel signs and the virama join their consonant)
    assert len(tamil) == 7 and BlueskyConnector.capabilities.reply_length(tamil) == 5
    family = "👨‍👩‍👧"  # 5 code points, one grapheme
    assert BlueskyConnector.capabilities.reply_length(family) == 1
    check_length(BlueskyConnector.capabilities, "bluesky", tamil * 60)  # 300 graphemes, 420 code points
    with pytest.raises(ReplyTooLong, match="305 graphemes; bluesky allows 300"):
        check_length(BlueskyConnector.capabilities, "bluesky", tamil * 61)
    # Mastodon: graphemes, any link as 23, a remote mention as its local part.
    assert status_length("hi @ana@example.social see https://example.com/" + "x" * 100) == len("hi @ana see ") + 23
    assert status_length(tamil) == 5


def test_presence_shows_others_until_their_heartbeat_expires(db: Database) -> None:
    m = add_mention(db)
    presence.touch(db, m, "ana", Activity.VIEWING)
    presence.touch(db, m, "ben", Activity.VIEWING)
    presence.touch(db, m, "ben", Activity.DRAFTING)
    with db.read() as session:
        seen = presence.others(session, m, "ana")
        assert [(p.user, p.activity) for p in seen] == [("ben", "drafting")]
        later = seen[0].seen_at + presence.PRESENCE_TTL * 2
        assert presence.others(session, m, "ana", now=later) == []
    presence.leave(db, "ben", m)
    with db.read() as session:
        assert presence.others(session, m, "ana") == []


def test_two_people_replying_to_one_mention_post_once(db: Database, connector: RecordingReplyConnector) -> None:
    m = add_mention(db, platform="scripted", replyable=True)
    drafts = [draft_reply(db, m, f"Sorry, {who} here", author=BY_NAME[who]) for who in ("ana", "ben")]
    RecordingReplyConnector.gate = threading.Event()
    outcomes: dict[str, str] = {}

    def send(reply: Reply) -> None:
        try:
            outcomes[reply.author] = presence.send_reply_once(db, reply.id, connector, BY_NAME[reply.author]).state
        except ReplyCollision as exc:
            outcomes[reply.author] = f"collision with {exc.other_reply_id}"

    threads = [threading.Thread(target=send, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    RecordingReplyConnector.gate.set()
    for t in threads:
        t.join(10)
    assert len(connector.calls) == 1
    assert sorted(outcomes.values())[0].startswith("collision with")
    assert sorted(outcomes.values())[1] == "sent"


def test_a_second_click_or_retry_never_posts_twice(db: Database, connector: RecordingReplyConnector) -> None:
    m = add_mention(db, platform="scripted", replyable=True)
    reply = draft_reply(db, m, "On it", author=ANA)
    assert presence.send_reply_once(db, reply.id, connector, ANA).state == "sent"
    with pytest.raises(ReplyStateError):
        presence.send_reply_once(db, reply.id, connector, ANA)
    later = draft_reply(db, m, "Also this", author=BEN)
    with pytest.raises(ReplyCollision, match="ana has already replied") as info:
        presence.send_reply_once(db, later.id, connector, BEN)
    # Having read ana's reply, ben may still send a follow-up, on purpose.
    assert presence.send_reply_once(db, later.id, connector, BEN, follow_up_of=info.value.other_reply_id).state == "sent"
    assert len(connector.calls) == 2


def test_a_failed_reply_keeps_its_error_and_frees_the_mention(db: Database, connector: RecordingReplyConnector) -> None:
    m = add_mention(db, platform="scripted", replyable=True)
    first = draft_reply(db, m, "On it", author=ANA)
    RecordingReplyConnector.fail_with = ConnectorError("503 from the platform")
    failed = presence.send_reply_once(db, first.id, connector, ANA)
    assert (failed.state, failed.error) == ("failed", "503 from the platform")
    retry = presence.send_reply_once(db, first.id, connector, ANA)
    assert retry.state == "sent"
    m2 = add_mention(db, platform="scripted", replyable=True)
    RecordingReplyConnector.fail_with = ConnectorError("boom")
    presence.send_reply_once(db, draft_reply(db, m2, "x", author=ANA).id, connector, ANA)
    assert presence.send_reply_once(db, draft_reply(db, m2, "y", author=BEN).id, connector, BEN).state == "sent"


def test_a_reply_the_platform_would_refuse_claims_nothing(db: Database, connector: RecordingReplyConnector) -> None:
    m = add_mention(db, platform="scripted", replyable=True)
    with pytest.raises(ReplyError, match="empty"):
        presence.send_reply_once(db, draft_reply(db, m, "   ", author=ANA).id, connector, ANA)
    # A template's slot left as its hint is never posted to a customer.
    unfilled = render(ReplyTemplate("order", "Order {order_number} ships today."), author="Ana", brand="Acme").text
    with pytest.raises(UnfilledSlot, match=r"still says \[order number\]"):
        presence.send_reply_once(db, draft_reply(db, m, unfilled, author=ANA).id, connector, ANA)
    assert RecordingReplyConnector.calls == []
    assert presence.send_reply_once(db, draft_reply(db, m, "fine", author=BEN).id, connector, BEN).state == "sent"
