"""Follow-up dates bring a pending item back to the queue; check-ins are sent once, after approval."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from connectors.emulators import DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.sample import SampleConnector, SampleSettings
from monitor import audit, followups, presence, replies
from monitor.access import Principal, Role
from monitor.config import Config
from monitor.errors import AccessDenied, NotFound
from monitor.followups import FollowUpError
from monitor.models import AuditEntry, CheckIn, CheckInState, FollowUp, Mention, MentionStatus, Reply, ReplyState
from monitor.pipeline import Pipeline
from monitor.queue import QueueFilters, fetch_page
from monitor.storage import Database
from monitor.templates import ReplyTooLong, UnfilledSlot
from tests.more_sources_fixtures import FAST_RETRIES, poll
from tests.hostile_corpus import PAST_9999_IN_UTC
from tests.principals import ADMIN
from tests.principals import ANA as AGENT

_ids = itertools.count(1)


def _mention(db: Database, status: str = MentionStatus.OPEN.value, platform: str = "x") -> int:
    with db.write() as session:
        mention = Mention(platform=platform, external_id=f"m{next(_ids)}", text="where is my order?", lang="en",
                          created_at=datetime.now(timezone.utc), replyable=True, raw={}, status=status, priority=50)
        session.add(mention)
        session.flush()
        return mention.id


def _status(db: Database, mention_id: int) -> str:
    with db.read() as session:
        return session.get(Mention, mention_id).status


def test_a_follow_up_date_brings_a_pending_item_back_to_the_queue(db: Database) -> None:
    mention_id = _mention(db)
    now = datetime.now(timezone.utc)
    followups.set_follow_up(db, mention_id, now + timedelta(hours=2), AGENT, note="customer sends the receipt")
    assert _status(db, mention_id) == MentionStatus.PENDING.value
    assert followups.pending_follow_up(db, mention_id).due_at == now + timedelta(hours=2)
    assert followups.run_due(db, now + timedelta(hours=1)).reopened == []
    open_work = QueueFilters(statuses=(MentionStatus.OPEN.value,))
    with db.read() as session:
        assert fetch_page(session, open_work).items == []
    assert followups.run_due(db, now + timedelta(hours=3)).reopened == [mention_id]
    with db.read() as session:
        assert [m.id for m in fetch_page(session, open_work).items] == [mention_id]
    assert followups.pending_follow_up(db, mention_id) is None
    assert followups.run_due(db, now + timedelta(hours=4)).reopened == [], "once"


def test_follow_ups_refuse_bad_input_and_leave_items_someone_took_up(db: Database) -> None:
    mention_id, closed = _mention(db), _mention(db, MentionStatus.RESOLVED.value)
    now = datetime.now(timezone.utc)
    with pytest.raises(FollowUpError, match="future"):
        followups.set_follow_up(db, mention_id, now - timedelta(minutes=1), AGENT)
    with pytest.raises(FollowUpError, match="time zone"):
        followups.set_follow_up(db, mention_id, datetime(2030, 1, 1), AGENT)
    with pytest.raises(FollowUpError, match="resolved"):
        followups.set_follow_up(db, closed, now + timedelta(hours=1), AGENT)
    with pytest.raises(AccessDenied):
        followups.set_follow_up(db, mention_id, now + timedelta(hours=1), Principal("val", Role.VIEWER))
    followups.set_follow_up(db, mention_id, now + timedelta(hours=1), AGENT)
    from monitor import triage

    triage.set_status(db, [mention_id], MentionStatus.RESOLVED.value, AGENT)  # answered before the date
    assert followups.run_due(db, now + timedelta(hours=2)).reopened == []
    assert _status(db, mention_id) == MentionStatus.RESOLVED.value


def test_the_worker_tick_reopens_due_follow_ups(sqlite_db: Database) -> None:
    mention_id = _mention(sqlite_db)
    followups.set_follow_up(sqlite_db, mention_id, datetime.now(timezone.utc) + timedelta(minutes=5), AGENT)
    with sqlite_db.write() as session:  # five minutes later
        session.execute(update(FollowUp).values(due_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    Pipeline(sqlite_db, None).tick()
    assert _status(sqlite_db, mention_id) == MentionStatus.OPEN.value


def test_a_check_in_is_sent_once_and_only_after_an_agent_approves_it(
        emulators: RunningEmulators, sqlite_db: Database) -> None:
    status_id = emulators.mastodon.add_status("@orbisto my order arrived broken", username="lea")
    env = {f"MENTIONDESK_MASTODON_{k.upper()}": v for k, v in DEMO_SECRETS["mastodon"].items()}
    config = Config.from_dict({
        "database": {"url": sqlite_db.engine.url.render_as_string(hide_password=False)},
        "brands": [{"name": "Orbisto", "keywords": ["Orbisto"], "handles": {"mastodon": DEMO_MASTODON_USERNAME}}],
        "connectors": {"mastodon": {"api_base_url": emulators.mastodon_url, "hashtags": [], **FAST_RETRIES}},
        "check_ins": {"after_days": 2},
    }, env=env)
    poll(sqlite_db, config)
    connector = config.connectors["mastodon"].create()
    with sqlite_db.read() as session:
        mention_id = session.query(Mention.id).filter_by(external_id=status_id).scalar()
    first = replies.draft_reply(sqlite_db, mention_id, "So sorry! A replacement is on its way.", AGENT)
    presence.send_reply_once(sqlite_db, first.id, connector, AGENT)

    due = followups.default_due(config.check_ins)
    check_in = followups.resolve_with_check_in(sqlite_db, mention_id, "Did the replacement arrive in one piece?", due, AGENT)
    assert _status(sqlite_db, mention_id) == MentionStatus.RESOLVED.value
    with pytest.raises(FollowUpError, match="scheduled"):
        followups.approve_check_in(sqlite_db, check_in.id, connector, AGENT)  # not due yet
    assert followups.run_due(sqlite_db, due - timedelta(minutes=1)).check_ins_due == []
    assert followups.run_due(sqlite_db, due + timedelta(minutes=1)).check_ins_due == [check_in.id]
    [waiting] = followups.check_ins(sqlite_db)
    assert waiting.mention.id == mention_id and waiting.reply.state == ReplyState.DRAFT.value
    assert len(emulators.mastodon.replies_to(status_id)) == 1, "nothing sent before approval"

    sent = followups.approve_check_in(sqlite_db, check_in.id, connector, Principal("ben", Role.AGENT))
    assert sent.state == ReplyState.SENT.value
    thread = emulators.mastodon.replies_to(status_id)
    assert [r["text"] for r in thread] == ["@lea So sorry! A replacement is on its way.",
                                           "@lea Did the replacement arrive in one piece?"]
    with pytest.raises(FollowUpError, match="sent"):
        followups.approve_check_in(sqlite_db, check_in.id, connector, AGENT)
    assert len(emulators.mastodon.replies_to(status_id)) == 2
    assert followups.check_ins(sqlite_db, (CheckInState.SENT.value,))[0].check_in.approved_by == "ben"

    other = followups.resolve_with_check_in(sqlite_db, mention_id, "Anything else?", due, AGENT)
    followups.cancel_check_in(sqlite_db, other.id, AGENT)
    followups.run_due(sqlite_db, due + timedelta(days=1))
    assert followups.check_ins(sqlite_db) == [] and len(emulators.mastodon.replies_to(status_id)) == 2
    connector.close()




def _stored(db: Database, mention_id: int) -> tuple[str, int, int, int, int]:
    """What a refused action must leave as it was: status, replies, check-ins, follow-ups, audit entries."""
    with db.read() as session:
        def rows(model: type, column: object) -> int:
            return session.scalar(select(func.count()).select_from(model).where(column == mention_id))

        return (session.get(Mention, mention_id).status, rows(Reply, Reply.mention_id),
                rows(CheckIn, CheckIn.mention_id), rows(FollowUp, FollowUp.mention_id),
                rows(AuditEntry, AuditEntry.mention_id))


def test_a_check_in_that_cannot_be_stored_changes_nothing(db: Database) -> None:
    mention_id = _mention(db)
    before = _stored(db, mention_id)
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    with pytest.raises(FollowUpError, match="check-in date is out of range"):
        followups.resolve_with_check_in(db, mention_id, "All good now?", PAST_9999_IN_UTC, AGENT)
    for body in ("All good now? \ud800", "All good\x00 now?"):
        with pytest.raises(FollowUpError, match="cannot be stored"):
            followups.resolve_with_check_in(db, mention_id, body, tomorrow, AGENT)
    assert _stored(db, mention_id) == before, "not resolved, no orphan draft, no audit entry"


def test_a_check_in_that_could_never_be_sent_is_refused_when_scheduled(db: Database) -> None:
    mention_id = _mention(db, platform="sample")
    spam = _mention(db, MentionStatus.SPAM.value, platform="sample")
    before = _stored(db, mention_id), _stored(db, spam)
    connector = SampleConnector(SampleSettings(), {})  # takes replies of up to 1000 characters
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    with pytest.raises(UnfilledSlot, match=r"\[order number\]"):
        followups.resolve_with_check_in(db, mention_id, "Did order [order number] arrive?", tomorrow, AGENT)
    with pytest.raises(ReplyTooLong, match="1001 characters; sample allows 1000"):
        followups.resolve_with_check_in(db, mention_id, "x" * 1001, tomorrow, AGENT, connector=connector)
    with pytest.raises(FollowUpError, match="cannot go from spam to resolved"):
        followups.resolve_with_check_in(db, spam, "All good now?", tomorrow, AGENT)
    assert (_stored(db, mention_id), _stored(db, spam)) == before

    check_in = followups.resolve_with_check_in(db, mention_id, "All good now?", tomorrow, AGENT, connector=connector)
    assert _stored(db, mention_id)[:3] == (MentionStatus.RESOLVED.value, 1, 1)
    with db.read() as session:
        actions = [e.action for e in reversed(audit.entries(session, ADMIN, mention_id))]
        assert session.get(Reply, check_in.reply_id).body == "All good now?"
    assert actions == ["triage.status", "reply.draft", "check_in.schedule"]


def test_follow_up_dates_and_notes_that_cannot_be_stored_are_refused(db: Database) -> None:
    mention_id = _mention(db)
    before = _stored(db, mention_id)
    with pytest.raises(FollowUpError, match="follow-up date is out of range"):
        followups.set_follow_up(db, mention_id, PAST_9999_IN_UTC, AGENT)
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    with pytest.raises(FollowUpError, match="follow-up note .* cannot be stored"):
        followups.set_follow_up(db, mention_id, tomorrow, AGENT, note="receipt\x00")
    assert _stored(db, mention_id) == before


def test_clearing_the_follow_up_of_a_missing_mention_says_so(db: Database) -> None:
    with pytest.raises(NotFound, match="mention 999999 not found"):
        followups.clear_follow_up(db, 999_999, AGENT)
