"""A person's relabel of a mention's intent did not move its needs-response, computed once from the model: the SLA
warning missed a complaint the model called "other" and a person relabelled complaint, and warned about one the
person relabelled praise. A relabel now decides whether a mention needs a response, as it wins everywhere else."""

from __future__ import annotations

from datetime import timedelta

from monitor.access import Principal, Role
from monitor.alerts.engine import AlertEngine
from monitor.alerts.receiver import Receiver
from monitor.models import Mention
from monitor.storage import Database
from monitor.triage import relabel
from sentiment.triage import DEFAULT_RULES
from tests.test_alerts import START, Clock, add_brand, add_mentions, events, settings, target

AGENT = Principal("ana", Role.AGENT)
NEUTRAL = {"sentiment_label": "neutral", "sentiment_score": 0.8,
           "sentiment_scores": {"negative": 0.15, "neutral": 0.8, "positive": 0.05}}


def test_the_sla_warning_is_about_the_mention_relabelled_complaint_not_the_one_relabelled_praise(db: Database) -> None:
    brand, clock = add_brand(db), Clock()
    due_soon = START - timedelta(minutes=50)  # 10 minutes left of a 60-minute response time
    missed = add_mentions(db, brand, **NEUTRAL, replyable=True, intent="other", needs_response=False,
                          created_at=due_soon, text="my parcel is a week late, nobody answers")
    praise = add_mentions(db, brand, **NEUTRAL, replyable=True, intent="complaint", needs_response=True,
                          created_at=due_soon, text="you guys are unreal, fixed in 5 min")

    relabel(db, missed, AGENT, intent="complaint", rules=DEFAULT_RULES)
    relabel(db, praise, AGENT, sentiment="positive", intent="praise", rules=DEFAULT_RULES)

    with db.read() as session:
        assert [session.get(Mention, m).needs_response for m in missed + praise] == [True, False]
    rules = settings(rules={"digest": {"enabled": False}, "sla": {"response_minutes": 60, "warn_before_minutes": 15}})
    with Receiver() as receiver:
        with AlertEngine(db, rules, [target("care", receiver.json_url())], clock) as engine:
            engine.tick()
            assert engine.drain(10)
        receiver.wait_for(1)
    assert [e.mention_ids for e in events(db)] == [missed]
