"""A held urgent alert ("negative with high reach") still went out after a person relabelled its mention positive,
and its message paired the person's label with the model's score ("positive 0.90", the model's confidence in
negative). At send time an urgent alert leaves out the mentions no longer urgent, and a person's label reads
"(human)", without a score."""

from __future__ import annotations

from monitor.access import Principal, Role
from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.storage import Database
from monitor.triage import relabel
from sentiment.triage import DEFAULT_RULES
from tests.test_alerts import Clock, add_brand, add_mentions, events, settings, target

LOUD = {"sentiment_label": "negative", "sentiment_score": 0.9, "author_followers": 50_000,
        "text": "this product is something else"}
AGENT = Principal("ana", Role.AGENT)


def test_a_held_urgent_alert_whose_mention_was_relabelled_not_negative_is_not_sent(db: Database) -> None:
    brand, clock = add_brand(db), Clock()
    with Receiver() as receiver:
        with AlertEngine(db, settings(), [target("care", receiver.json_url())], clock) as engine:
            engine.on_new_mentions(add_mentions(db, brand, **LOUD))
            assert engine.drain(10)
            clock.advance(minutes=2)
            relabelled = add_mentions(db, brand, **LOUD)
            still_urgent = add_mentions(db, brand, **{**LOUD, "text": "I want a refund"})
            engine.on_new_mentions(relabelled + still_urgent)  # held for the 10-minute cooldown
            relabel(db, relabelled, AGENT, sentiment="positive", rules=DEFAULT_RULES)
            clock.advance(minutes=9)
            assert engine.drain(10)
        _, held = receiver.wait_for(2)
    assert f"mention={still_urgent[0]}" in held.body and f"mention={relabelled[0]}" not in held.body
    assert held.title == "Urgent mention of Acme" and 'keyword "refund"' in held.body


def test_a_held_urgent_alert_with_nothing_urgent_left_is_suppressed_saying_why(db: Database) -> None:
    brand, clock = add_brand(db), Clock()
    with Receiver() as receiver:
        with AlertEngine(db, settings(), [target("care", receiver.json_url())], clock) as engine:
            engine.on_new_mentions(add_mentions(db, brand, **LOUD))
            assert engine.drain(10)
            clock.advance(minutes=2)
            relabelled = add_mentions(db, brand, **LOUD)
            engine.on_new_mentions(relabelled)
            relabel(db, relabelled, AGENT, sentiment="neutral", rules=DEFAULT_RULES)
            clock.advance(minutes=9)
            assert engine.drain(10)
        assert len(receiver.wait_for(1)) == 1
    held = events(db)[1]
    assert (held.status, held.reason) == (
        "suppressed", "not sent: its mentions are no longer urgent (relabelled or re-ranked) while it waited")


def test_a_person_s_label_is_shown_as_theirs_without_the_model_s_score(db: Database) -> None:
    brand = add_brand(db)
    relabelled = add_mentions(db, brand, sentiment_label="positive", sentiment_score=0.9, text="I want a refund")
    relabel(db, relabelled, AGENT, sentiment="negative", rules=DEFAULT_RULES)
    with Receiver() as receiver:
        with AlertEngine(db, settings(), [target("care", receiver.json_url())], Clock()) as engine:
            engine.on_new_mentions(relabelled)
            assert engine.drain(10)
        [got] = receiver.wait_for(1)
    assert "negative (human)" in got.body and "0.90" not in got.body
