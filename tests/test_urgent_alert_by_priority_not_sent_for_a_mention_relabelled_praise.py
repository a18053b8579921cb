"""A mention urgent by its priority alone (min_priority 90), relabelled positive praise by a person while its urgent
alert was held for the cooldown, was still paged ("positive (human) · priority 90"): the priority was computed once
from the model's negative reading. A relabel now ranks the mention again by the person's labels."""

from __future__ import annotations

from monitor.access import Principal, Role
from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.models import Mention
from monitor.storage import Database
from monitor.triage import relabel
from sentiment.api import Prediction
from sentiment.triage import DEFAULT_RULES, TriageRules, triage
from tests.test_alerts import START, Clock, add_brand, add_mentions, events, settings, target

AGENT = Principal("ana", Role.AGENT)
TEXT = "well that was something else, thanks a lot"
SCORES = {"negative": 0.99, "neutral": 0.005, "positive": 0.005}


def loud_mention() -> dict[str, object]:
    """A mention as the classifier stores it, ranked 90 or more: urgent by priority, not by its reach."""
    model = triage(TEXT, Prediction("negative", 0.99, SCORES, "en"), follower_count=6000, replyable=True,
                   age_seconds=300, rules=TriageRules())
    assert model.priority >= 90
    return {"text": TEXT, "sentiment_label": "negative", "sentiment_score": 0.99, "sentiment_scores": SCORES,
            "author_followers": 6000, "replyable": True, "intent": model.intent,
            "needs_response": model.needs_response, "priority": model.priority}


def test_a_held_urgent_alert_about_a_mention_relabelled_positive_praise_is_not_sent(db: Database) -> None:
    brand, clock = add_brand(db), Clock(START)
    with Receiver() as receiver:
        with AlertEngine(db, settings(), [target("care", receiver.json_url())], clock) as engine:
            engine.on_new_mentions(add_mentions(db, brand, **loud_mention()))
            assert engine.drain(10)
            clock.advance(minutes=2)
            relabelled = add_mentions(db, brand, **loud_mention())
            engine.on_new_mentions(relabelled)  # held for the 10-minute cooldown
            relabel(db, relabelled, AGENT, sentiment="positive", intent="praise", rules=DEFAULT_RULES)
            clock.advance(minutes=9)
            assert engine.drain(10)
        assert len(receiver.wait_for(1)) == 1
    with db.read() as session:
        assert session.get(Mention, relabelled[0]).priority < 90
    held = events(db)[1]
    assert (held.status, held.reason) == (
        "suppressed", "not sent: its mentions are no longer urgent (relabelled or re-ranked) while it waited")
