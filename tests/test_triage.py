"""Triage actions: validated status moves, assignment, tags, notes, relabels; each one audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from monitor import audit, queue, triage
from monitor.models import Mention, MentionTag
from monitor.queue import QueueFilters
from monitor.storage import Database
from monitor.triage import TriageError
from sentiment.triage import DEFAULT_RULES
from tests.test_dashboard_fixtures import add_mention
from tests.principals import ADMIN, ANA, BEN


def _mention(db: Database, mention_id: int) -> Mention:
    with db.read() as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        return mention


def test_status_moves_follow_the_workflow_and_are_audited(db: Database) -> None:
    m = add_mention(db)
    assert triage.set_status(db, [m], "open", ANA).changed == [m]
    assert triage.set_status(db, [m], "pending", ANA).changed == [m]
    assert triage.set_status(db, [m], "resolved", BEN).changed == [m]
    refused = triage.set_status(db, [m], "pending", ANA)
    assert refused.changed == [] and refused.skipped == {m: "cannot go from resolved to pending"}
    assert triage.set_status(db, [m], "open", ANA).changed == [m]  # reopen
    with pytest.raises(TriageError, match="unknown status"):
        triage.set_status(db, [m], "done", ANA)
    with db.read() as session:
        log = [(e.actor, e.action, e.details["after"]) for e in reversed(audit.entries(session, ADMIN, m))]
    assert log == [("ana", "triage.status", "open"), ("ana", "triage.status", "pending"),
                   ("ben", "triage.status", "resolved"), ("ana", "triage.status", "open")]


def test_bulk_actions_apply_where_they_fit_and_report_the_rest(db: Database) -> None:
    fresh, spam = add_mention(db), add_mention(db, status="spam")
    result = triage.set_status(db, [fresh, spam, 999_999], "resolved", ANA)
    assert result.changed == [fresh]
    assert set(result.skipped) == {spam, 999_999}
    tagged = triage.add_tag(db, [fresh, spam], "  Billing   Issue ", ANA)
    assert tagged.changed == [fresh, spam]
    assert triage.add_tag(db, [fresh], "billing issue", ANA).skipped == {fresh: "already tagged billing issue"}
    assert triage.remove_tag(db, [fresh, spam], "billing issue", ANA).changed == [fresh, spam]
    with db.read() as session:
        assert session.scalars(select(MentionTag)).all() == []


def test_assigning_a_new_mention_opens_it_and_unassign_works(db: Database) -> None:
    m = add_mention(db)
    triage.assign(db, [m], "ben", ANA)
    assert (_mention(db, m).assignee, _mention(db, m).status) == ("ben", "open")
    triage.assign(db, [m], None, ANA)
    assert _mention(db, m).assignee is None
    with db.read() as session:
        actions = [(e.actor, e.details["after"]) for e in reversed(audit.entries(session, ADMIN, m))]
    assert actions == [("ana", "ben"), ("ana", None)]


def test_notes_are_kept_with_their_author(db: Database) -> None:
    m = add_mention(db)
    triage.add_note(db, m, "  called them back  ", ANA)
    with pytest.raises(TriageError):
        triage.add_note(db, m, "   ", ANA)
    with db.read() as session:
        mention = session.get(Mention, m)
        assert mention is not None
        assert [(n.author, n.body) for n in mention.notes] == [("ana", "called them back")]
        assert audit.entries(session, ADMIN, m)[0].action == "triage.note"


def test_relabels_keep_the_model_output_and_feed_agreement_and_training_data(db: Database) -> None:
    wrong = add_mention(db, sentiment_label="positive", intent="praise", text="great, broken again")
    right = add_mention(db, sentiment_label="negative", intent="complaint")
    triage.relabel(db, [wrong], ANA, sentiment="negative", intent="complaint", rules=DEFAULT_RULES)
    triage.relabel(db, [right], ANA, sentiment="negative", rules=DEFAULT_RULES)
    with pytest.raises(TriageError, match="unknown sentiment"):
        triage.relabel(db, [right], ANA, sentiment="angry", rules=DEFAULT_RULES)
    assert _mention(db, wrong).sentiment_label == "positive"  # the model's output stays
    with db.read() as session:
        agreement = triage.label_agreement(session)
        rows = list(triage.training_examples(session))
    assert (agreement.sentiment_checked, agreement.sentiment_agreed) == (2, 1)
    assert (agreement.intent_checked, agreement.intent_agreed) == (1, 0)
    assert rows[0] == {"id": wrong, "platform": "sample", "lang": "en", "text": "great, broken again",
                       "sentiment": "negative", "intent": "complaint", "model_sentiment": "positive", "model_intent": "praise"}


def test_a_blank_assignee_unassigns_and_the_mention_is_back_in_the_unassigned_view(db: Database) -> None:
    m = add_mention(db)
    triage.assign(db, [m], "ben", ANA)
    assert triage.assign(db, [m], "   ", ANA).changed == [m]
    assert _mention(db, m).assignee is None
    unassigned = QueueFilters(unassigned=True)
    with db.read() as session:
        assert [item.id for item in queue.fetch_page(session, unassigned).items] == [m]
    assert triage.assign(db, [m], "", ANA).skipped == {m: "already unassigned"}


@pytest.mark.parametrize("assignee", ["\u202eadmin", "ben\x00", "ben\ud800", "x" * 1_000_000, "ben\nada"])
def test_an_assignee_must_be_a_valid_user_name(db: Database, assignee: str) -> None:
    m = add_mention(db)
    with pytest.raises(TriageError, match="an assignee|cannot be stored"):
        triage.assign(db, [m], assignee, ANA)
    assert (_mention(db, m).assignee, _mention(db, m).status) == (None, "new")
    assert triage.assign(db, [m], "  Ana Lima  ", ANA).changed == [m]
    assert _mention(db, m).assignee == "Ana Lima"


@pytest.mark.parametrize("text", ["billing\x00", "billing \ud800"])
def test_tags_and_notes_that_cannot_be_stored_are_refused_with_a_message(db: Database, text: str) -> None:
    m = add_mention(db)
    with pytest.raises(TriageError, match="tag holds a NUL or an unpaired surrogate"):
        triage.add_tag(db, [m], text, ANA)
    with pytest.raises(TriageError, match="tag holds a NUL or an unpaired surrogate"):
        triage.remove_tag(db, [m], text, ANA)
    with pytest.raises(TriageError, match="note holds a NUL or an unpaired surrogate"):
        triage.add_note(db, m, text, ANA)
    with db.read() as session:
        mention = session.get(Mention, m)
        assert (mention.tags, mention.notes, audit.entries(session, ADMIN, m)) == ([], [], [])


def test_a_change_made_on_what_a_person_was_shown_is_skipped_once_that_changed(db: Database) -> None:
    # The dashboard passes what its page showed; the check is in the write (rows locked), so a
    # teammate's change cannot land between the check and the change.
    m = add_mention(db)
    triage.set_status(db, [m], "resolved", BEN)  # ana's page still shows it new
    stale = triage.set_status(db, [m], "pending", ANA, shown_status="new")
    assert stale.changed == []
    assert stale.skipped[m].startswith("changed since it was shown: its status is now resolved.")
    assert triage.set_status(db, [m], "open", ANA, shown_status="resolved").changed == [m]
    triage.assign(db, [m], "ben", BEN)  # ana's page shows it unassigned
    taken = triage.assign(db, [m], "carl", ANA, shown_assignee=None)
    assert taken.changed == [] and "its assignee is now ben" in taken.skipped[m]
    assert triage.assign(db, [m], None, ANA, shown_assignee="ben").changed == [m]
    assert _mention(db, m).assignee is None and _mention(db, m).status == "open"


def test_a_bulk_change_checks_each_mention_against_what_its_own_row_showed(db: Database) -> None:
    # A page of several rows: each showed its own status and assignee. Rows a teammate changed since
    # are skipped with the reason; the rest change, in the same locked write.
    kept, taken, resolved = add_mention(db), add_mention(db), add_mention(db)
    triage.assign(db, [taken], "ben", BEN)  # after ana's page was drawn
    triage.set_status(db, [resolved], "resolved", BEN)
    assigned = triage.assign(db, [kept, taken, resolved], "ana", ANA,
                             shown_assignee={kept: None, taken: None, resolved: None})
    assert assigned.changed == [kept, resolved]
    assert list(assigned.skipped) == [taken] and "its assignee is now ben" in assigned.skipped[taken]
    moved = triage.set_status(db, [kept, taken, resolved], "pending", ANA,
                              shown_status={kept: "open", taken: "new", resolved: "new"})
    assert moved.changed == [kept]
    assert "its status is now open" in moved.skipped[taken] and "its status is now resolved" in moved.skipped[resolved]
    assert [_mention(db, i).status for i in (kept, taken, resolved)] == ["pending", "open", "resolved"]
    assert _mention(db, taken).assignee == "ben"
